package engine

import (
	"bytes"
	"testing"
	"time"
)

func TestMuteSendsSilence(t *testing.T) {
	silent := []byte{0x01, 0x40, 0x20, 0x07}
	h := newTestHub(t, Config{Silence: func(cfg *CodecConfig, payload []byte) ([]byte, error) {
		if cfg.Codec != CodecAAC {
			return nil, ErrNoSilence
		}
		return silent, nil
	}})
	sub := h.Subscribe(16)
	defer sub.Close()
	s := mustCreate(t, h, "class")
	pub := mustPublish(t, s)
	rd := mustReader(t, s)
	if err := h.SetMuted("class", true); err != nil {
		t.Fatal(err)
	}
	if !s.Muted() || !s.Config().Muted {
		t.Fatal("not muted")
	}
	pub.WritePacket(video(0, true))
	aac := audio(10 * time.Millisecond)
	aac.Config = &CodecConfig{Codec: CodecAAC, SampleRate: 48000, Channels: 1}
	pub.WritePacket(aac)
	opus := audio(20 * time.Millisecond)
	opus.Codec, opus.Config = CodecOpus, &CodecConfig{Codec: CodecOpus}
	pub.WritePacket(opus) // no silence for it here: dropped, not sent
	pub.WritePacket(video(33*time.Millisecond, false))
	got := readN(t, rd, 3)
	if got[1].Track != TrackAudio || !bytes.Equal(got[1].Payload, silent) {
		t.Errorf("muted audio packet %+v, want the silent frame", got[1])
	}
	if got[2].Track != TrackVideo {
		t.Errorf("the packet without silence was sent: %+v", got[2])
	}
	if st := s.Stats(StatsOptions{}); st.Audio == nil || !st.Audio.Muted {
		t.Errorf("stats audio %+v", st.Audio)
	}
	if err := h.SetMuted("class", false); err != nil {
		t.Fatal(err)
	}
	pub.WritePacket(audio(40 * time.Millisecond))
	if p := readN(t, rd, 1)[0]; bytes.Equal(p.Payload, silent) {
		t.Error("unmuted audio is still silence")
	}
	kinds := map[EventKind]bool{}
	for len(sub.C) > 0 {
		kinds[(<-sub.C).Kind] = true
	}
	if !kinds[EventAudioMuted] || !kinds[EventAudioUnmuted] {
		t.Errorf("events %v", kinds)
	}
	if err := h.SetMuted("nope", true); err == nil {
		t.Error("muted a stream that does not exist")
	}
}

func TestSilentState(t *testing.T) {
	h := newTestHub(t, Config{})
	sub := h.Subscribe(16)
	defer sub.Close()
	s := mustCreate(t, h, "class")
	mustPublish(t, s)
	s.SetSilent("no microphone was found")
	s.SetSilent("no microphone was found") // once per silence
	st := s.Stats(StatsOptions{})
	if st.Audio == nil || !st.Audio.Silent || st.Audio.SilentReason != "no microphone was found" || st.Audio.LevelDBFS != nil {
		t.Errorf("stats audio %+v", st.Audio)
	}
	n := 0
	for len(sub.C) > 0 {
		if e := <-sub.C; e.Kind == EventNoSound {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d no-sound events, want 1", n)
	}
	s.SetSilent("")
	if s.Silent() != "" || s.Stats(StatsOptions{}).Audio != nil {
		t.Error("the silence did not end")
	}
}
