package rtc

import (
	"testing"
	"time"
)

// TestSessions: a session runs until it returns or is ended by its id;
// Close ends the rest and waits for them.
func TestSessions(t *testing.T) {
	s := NewSessions()
	stop := make(chan struct{})
	id := s.Run(func() { close(stop) }, func() { <-stop })
	if !s.End(id) {
		t.Fatal("a running session was not found")
	}
	if s.End(id) {
		t.Error("a session ended twice")
	}
	done := make(chan struct{})
	s.Run(func() {}, func() { <-s.Context().Done(); time.Sleep(10 * time.Millisecond); close(done) })
	s.Close()
	select {
	case <-done:
	default:
		t.Error("Close returned before the session ended")
	}
}

// TestAccepted reads what an answer took, by kind, skipping refused
// sections.
func TestAccepted(t *testing.T) {
	answer := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 102 96\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n" +
		"m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
	got := Accepted(answer)
	if got["video"] != "H264" || got["audio"] != "" {
		t.Errorf("Accepted = %v, want H264 video and no audio", got)
	}
	if got := Accepted("not SDP"); len(got) != 0 {
		t.Errorf("Accepted of garbage = %v", got)
	}
}
