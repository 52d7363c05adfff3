package cover

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
	"chalkcast/media/monitor"
	"chalkcast/sources/testpattern"
)

// live starts a hub with test-pattern stream "maths", its monitor and
// covers taking a last frame a second after it is live and every 2 s.
func live(t *testing.T) (*engine.Hub, *Covers, string) {
	t.Helper()
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srcs := engine.NewSources(hub, map[string]engine.SourceKind{testpattern.Type: testpattern.New(hub.Pool())}, nil)
	mon := monitor.New(hub, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { mon.Run(ctx); close(ran) }()
	dir := filepath.Join(t.TempDir(), "covers")
	c, err := New(hub, Config{Dir: dir, Snapshot: mon.Snapshot, Every: 2 * time.Second, FirstAfter: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cancel()
		<-ran
		srcs.Close()
		hub.Close()
	})
	if _, err := hub.Create(engine.StreamConfig{Name: "maths", Source: engine.Source{Type: testpattern.Type, Options: map[string]string{"preset": "480p"}}}); err != nil {
		t.Fatal(err)
	}
	return hub, c, dir
}

// fetch gets the cover as a student: its status and picture.
func fetch(t *testing.T, srv string) (int, image.Image) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv+"/watch/maths/cover.jpg", nil)
	req.Header.Set(testkit.Visitor, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	img, err := jpeg.Decode(resp.Body)
	if err != nil || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("cover: %v %s", err, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, img
}

func put(t *testing.T, srv, typ string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", srv+"/api/v1/streams/maths/cover", bytes.NewReader(body))
	req.Header.Set("Content-Type", typ)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func pngOf(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// hugePNG is a PNG whose header claims w×h pixels, with no pixels.
func hugePNG(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	chunk := append([]byte("IHDR"), ihdr...)
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestCover: a live stream's last frame is its cover, taken again while
// it is live, and stays after the class; a picture the teacher gives replaces it, scaled to fit 1280×720
// with its shape, and removing it brings the last frame back; what is not
// a usable picture is refused before it is decoded; a deleted stream's
// pictures go.
func TestCover(t *testing.T) {
	hub, c, dir := live(t)
	srv := testkit.ServeRoutes(t, c.Routes)
	testkit.WaitFor(t, 15*time.Second, "the last frame", func() bool {
		_, err := os.Stat(filepath.Join(dir, "maths.last.jpg"))
		return err == nil
	})
	status, img := fetch(t, srv.URL)
	if status != http.StatusOK || img.Bounds().Dx() != monitor.MaxWidth {
		t.Fatalf("the last frame as the cover: %d %v", status, img)
	}
	first, err := testpattern.ReadCounter(img)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "a newer last frame", func() bool {
		_, img := fetch(t, srv.URL)
		n, err := testpattern.ReadCounter(img)
		return err == nil && n > first
	})
	if err := hub.SetStopped("maths", true); err != nil {
		t.Fatal(err)
	}
	s, _ := hub.Get("maths")
	testkit.WaitFor(t, 10*time.Second, "the class over", func() bool { return !s.State().Active() })
	if status, _ := fetch(t, srv.URL); status != http.StatusOK {
		t.Errorf("after the class: %d", status)
	}

	for _, bad := range []struct {
		typ    string
		body   []byte
		status int
		says   string
	}{
		{"image/jpeg", []byte("not a picture"), http.StatusBadRequest, "JPEG or PNG"},
		{"image/png", hugePNG(100_000, 100_000), http.StatusBadRequest, "million"},
		{"image/png", pngOf(4, 4)[:40], http.StatusBadRequest, "JPEG or PNG"},
		{"image/png", make([]byte, MaxBytes+1), http.StatusRequestEntityTooLarge, "16 MB"},
	} {
		if status, body := put(t, srv.URL, bad.typ, bad.body); status != bad.status || !strings.Contains(body, bad.says) {
			t.Errorf("PUT %d bytes: %d %s, want %d saying %q", len(bad.body), status, body, bad.status, bad.says)
		}
	}
	status, body := put(t, srv.URL, "image/png", pngOf(3000, 2000))
	if status != http.StatusOK || !strings.Contains(body, `"picked": true`) {
		t.Fatalf("PUT a picture: %d %s", status, body)
	}
	if _, img := fetch(t, srv.URL); img == nil || img.Bounds().Dx() != 1080 || img.Bounds().Dy() != 720 {
		t.Errorf("the picked cover: %v, want 1080×720", img)
	}
	got := map[string]any{}
	c.View("maths", false, func(k string, v any) { got[k] = v })
	if v, _ := got["cover"].(map[string]any); v["picked"] != true || !strings.HasPrefix(v["url"].(string), "/watch/maths/cover.jpg?v=") {
		t.Errorf("view %v", got)
	}
	if status, _ := testkit.Visit(t, srv, "DELETE", "/api/v1/streams/maths/cover", ""); status != http.StatusForbidden {
		t.Errorf("a student removed the cover: %d", status)
	}
	if status, _ := testkit.Call(t, srv, "DELETE", "/api/v1/streams/maths/cover", ""); status != http.StatusOK {
		t.Fatalf("DELETE: %d", status)
	}
	if _, img := fetch(t, srv.URL); img == nil || img.Bounds().Dx() != monitor.MaxWidth {
		t.Errorf("after removing the picked cover: %v", img)
	}
	if err := hub.Delete("maths"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "the pictures removed", func() bool {
		entries, _ := os.ReadDir(dir)
		return len(entries) == 0
	})
}

// FuzzCover: whatever bytes come as a cover picture are refused or make a
// cover no larger than 1280×720, within the pixel limit.
func FuzzCover(f *testing.F) {
	var jpg bytes.Buffer
	_ = jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 64, 48)), nil)
	f.Add(jpg.Bytes())
	f.Add(pngOf(33, 17))
	f.Add(hugePNG(8000, 7000))
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer hub.Close()
	if _, err := hub.Create(engine.StreamConfig{Name: "maths"}); err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	c, err := New(hub, Config{Dir: dir}, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := c.Set("maths", b); err != nil {
			return
		}
		fh, err := os.Open(filepath.Join(dir, "maths.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		cfg, err := jpeg.DecodeConfig(fh)
		if err != nil || cfg.Width > maxWidth || cfg.Height > maxHeight {
			t.Fatalf("cover %+v %v", cfg, err)
		}
	})
}
