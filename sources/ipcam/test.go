package ipcam

import (
	"context"
	"fmt"
	"sync"
	"time"

	"chalkcast/engine"
)

// Timing of a connection test.
const (
	testTimeout = 15 * time.Second
	// keyframeWait is how long a test waits for the first keyframe, which
	// tells the picture size when the camera's SDP does not.
	keyframeWait = 8 * time.Second
)

// Test connects to the camera and reports what it sends: codecs, picture
// size, what happens to the audio, tracks that are ignored.
func (k *Kind) Test(ctx context.Context, src engine.Source) (*engine.SourceReport, error) {
	c, err := parse(src)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	log := k.log.With("test", c.shown)
	sess, err := dial(ctx, c, log)
	if err != nil {
		return nil, err
	}
	defer sess.close()

	var (
		mu           sync.Mutex
		video, audio *engine.CodecConfig
		once         sync.Once
	)
	keyframe := make(chan struct{})
	announce := func(t engine.Track, cfg *engine.CodecConfig) {
		mu.Lock()
		defer mu.Unlock()
		if t == engine.TrackVideo {
			video = cfg
		} else {
			audio = cfg
		}
	}
	write := func(p *engine.Packet) {
		if p.Track == engine.TrackVideo {
			announce(engine.TrackVideo, p.Config)
			once.Do(func() { close(keyframe) })
		}
	}
	playing, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- sess.play(playing, write, announce) }()
	rep := &engine.SourceReport{}
	select {
	case <-keyframe:
	case err := <-errc:
		if err == nil {
			err = fmt.Errorf("camera %s: the test ran out of time", c.shown)
		}
		return nil, err
	case <-time.After(keyframeWait):
		rep.Notes = append(rep.Notes, fmt.Sprintf("no keyframe arrived in %v: the camera may send keyframes rarely, so viewers would wait long to start", keyframeWait))
	case <-ctx.Done():
		return nil, fmt.Errorf("camera %s: the test ran out of time", c.shown)
	}
	stop()
	<-errc // play closes the connection when stopped

	mu.Lock()
	defer mu.Unlock()
	rep.Transport = sess.Transport()
	rep.Video = &engine.VideoStats{Codec: codecName(codecOfFormat(sess.vform))}
	if video != nil {
		rep.Video.Width, rep.Video.Height, rep.Video.Profile = video.Width, video.Height, video.Profile
	}
	if audio != nil {
		rep.Audio = &engine.AudioStats{Codec: audio.Codec.String(), SampleRate: audio.SampleRate, Channels: audio.Channels}
		if isG711(sess.aform) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the camera's %s audio is converted to AAC so that browsers can play it", sess.aform.Codec()))
		}
	} else {
		rep.Notes = append(rep.Notes, "no audio Chalkcast can use: viewers get picture only")
	}
	for _, name := range sess.ignored {
		rep.Notes = append(rep.Notes, "ignored track: "+name)
	}
	if rep.Video.Width == 0 {
		rep.Notes = append(rep.Notes, "picture size unknown until the first keyframe")
	}
	return rep, nil
}
