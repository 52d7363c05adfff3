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

// TestMuteSilencesCarriedOpus: a muted AAC packet's Opus frames are
// silenced with it, keeping their times.
func TestMuteSilencesCarriedOpus(t *testing.T) {
	silentAAC, silentOpus := []byte{0x01, 0x40, 0x20, 0x07}, []byte{0xf8, 0xff, 0xfe}
	h := newTestHub(t, Config{Silence: func(cfg *CodecConfig, payload []byte) ([]byte, error) {
		if cfg.Codec == CodecOpus {
			return silentOpus, nil
		}
		return silentAAC, nil
	}})
	s := mustCreate(t, h, "class")
	pub := mustPublish(t, s)
	rd := mustReader(t, s)
	cfg := &CodecConfig{Codec: CodecAAC, SampleRate: 48000, Channels: 1, Opus: &CodecConfig{Codec: CodecOpus, SampleRate: 48000, Channels: 1}}
	send := func(at time.Duration) *Packet {
		p := audio(at)
		p.Config = cfg
		p.Opus = []OpusFrame{{Offset: 5 * time.Millisecond, Payload: []byte{1, 2, 3, 4}}, {Offset: 25 * time.Millisecond, Payload: []byte{5, 6}}}
		pub.WritePacket(p)
		return readN(t, rd, 1)[0]
	}
	if p := send(0); !bytes.Equal(p.Opus[1].Payload, []byte{5, 6}) {
		t.Errorf("unmuted Opus %v", p.Opus)
	}
	if err := h.SetMuted("class", true); err != nil {
		t.Fatal(err)
	}
	p := send(40 * time.Millisecond)
	if !bytes.Equal(p.Payload, silentAAC) || len(p.Opus) != 2 {
		t.Fatalf("muted packet %x carrying %v", p.Payload, p.Opus)
	}
	for i, f := range p.Opus {
		if !bytes.Equal(f.Payload, silentOpus) || f.Offset != time.Duration(5+20*i)*time.Millisecond {
			t.Errorf("muted Opus frame %d: %+v", i, f)
		}
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
