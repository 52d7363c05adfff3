package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"chalkcast/engine"
)

// stampRE is what follows "<stream>_" in a recording's file name: the
// local time the file was started, a counter when a split started a
// second file within the same second, and the format.
var stampRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)(-\d{1,2})?\.(mp4|flv)$`)

// stampLayout is the time in a recording's file name.
const stampLayout = "2006-01-02_15-04-05"

// parseName reads the name of one of stream's recordings, as session.open
// makes them: "<stream>_<stamp>[-N].mp4" or ".flv". Nothing else in the
// recordings folder is listed or served, so ok is false for any name that
// is not a file of the stream's own folder (a path, "..", another
// stream's file). start is zero when the stamp is not a real time.
func parseName(stream, file string) (start time.Time, ok bool) {
	if engine.ValidateName(stream) != nil {
		return time.Time{}, false
	}
	rest, ok := strings.CutPrefix(file, stream+"_")
	if !ok {
		return time.Time{}, false
	}
	m := stampRE.FindStringSubmatch(rest)
	if m == nil {
		return time.Time{}, false
	}
	start, err := time.ParseInLocation(stampLayout, m[1], time.Local)
	if err != nil {
		return time.Time{}, true
	}
	return start, true
}

// List returns every recording, newest first: those being written (with
// their progress) and those on disk, including files a crash left behind.
func (r *Recorder) List() ([]File, error) { return r.list("") }

// list is List, of one stream's recordings unless stream is "".
func (r *Recorder) list(stream string) ([]File, error) {
	writing := map[string]File{}
	r.mu.Lock()
	for _, ss := range r.active {
		ss.mu.Lock()
		if f := ss.progress.file; f.Name != "" {
			writing[f.Path] = f
		}
		ss.mu.Unlock()
	}
	r.mu.Unlock()

	dirs, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("record: list %s: %w", r.cfg.Dir, err)
	}
	var out []File
	seen := map[string]bool{}
	if stream == "" { // what is no longer listed is forgotten
		defer r.known.keep(seen)
		defer r.indexes.keep(seen)
	}
	for _, d := range dirs {
		if !d.IsDir() || engine.ValidateName(d.Name()) != nil || (stream != "" && d.Name() != stream) {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(r.cfg.Dir, d.Name()))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if _, ok := parseName(d.Name(), e.Name()); !ok || !e.Type().IsRegular() {
				continue
			}
			path := filepath.Join(r.cfg.Dir, d.Name(), e.Name())
			if f, ok := writing[path]; ok {
				out = append(out, f)
				continue
			}
			seen[path] = true
			f, err := r.known.get(path, func() (File, error) { return describe(d.Name(), path) })
			if err != nil {
				r.log.Warn("recording cannot be read", "file", path, "err", err)
				continue
			}
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.After(out[j].Start)
		}
		return out[i].Name > out[j].Name
	})
	return out, nil
}

// fileCache remembers what reading finished recordings found, by path,
// size and modification time, so that a list shown while open (and
// refreshed every few seconds) or a replay's playlist reads each file's
// boxes once, not at every request.
type fileCache[T any] struct {
	mu sync.Mutex
	m  map[string]cached[T]
}

type cached[T any] struct {
	size int64
	mod  time.Time
	v    T
}

// get is what read found in the file at path, reading it again when the
// file has changed.
func (k *fileCache[T]) get(path string, read func() (T, error)) (T, error) {
	var zero T
	st, err := os.Stat(path)
	if err != nil {
		return zero, err
	}
	k.mu.Lock()
	e, ok := k.m[path]
	k.mu.Unlock()
	if ok && e.size == st.Size() && e.mod.Equal(st.ModTime()) {
		return e.v, nil
	}
	v, err := read()
	if err != nil {
		return zero, err
	}
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]cached[T]{}
	}
	k.m[path] = cached[T]{st.Size(), st.ModTime(), v}
	k.mu.Unlock()
	return v, nil
}

// keep forgets the files no longer listed.
func (k *fileCache[T]) keep(paths map[string]bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for p := range k.m {
		if !paths[p] {
			delete(k.m, p)
		}
	}
}

// index is the fragment index of a finished MP4 recording.
func (r *Recorder) index(stream, file string) (*mp4Index, error) {
	f, err := r.Open(stream, file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return r.indexes.get(filepath.Join(r.cfg.Dir, stream, file), func() (*mp4Index, error) {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		return readIndex(f, st.Size())
	})
}

// describe reads a recording's start (from its name), size and duration.
func describe(stream, path string) (File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return File{}, err
	}
	name := filepath.Base(path)
	start, _ := parseName(stream, name)
	if start.IsZero() {
		start = st.ModTime()
	}
	f := File{Stream: stream, Name: name, Start: start, Size: st.Size(), Path: path}
	fh, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer fh.Close()
	var d time.Duration
	if filepath.Ext(name) == ".flv" {
		d, err = flvDuration(fh, st.Size())
	} else {
		d, err = mp4Duration(fh, st.Size())
	}
	if err != nil {
		return File{}, err
	}
	f.Duration = d
	return f, nil
}

// mp4Duration is a fragmented MP4's longest track, counting whole
// fragments (reading box headers only): a file cut off in its last
// fragment counts up to the fragments before it.
func mp4Duration(r io.ReaderAt, size int64) (time.Duration, error) {
	ix, err := readIndex(r, size)
	if err != nil {
		return 0, err
	}
	return ix.duration(), nil
}

// trunDuration is the sum of the sample durations of a track fragment run
// box's payload (ISO/IEC 14496-12 8.8.8). It is read here rather than by
// go-mp4, which appends one entry per declared sample even when the
// entries have no fields: a run of 4 billion empty samples in a 16-byte
// box would hang the listing and exhaust memory.
func trunDuration(p []byte) (uint64, error) {
	if len(p) < 8 {
		return 0, errors.New("record: trun box too short")
	}
	flags := uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
	count := uint64(binary.BigEndian.Uint32(p[4:]))
	off := 8
	for _, f := range []uint32{0x1, 0x4} { // data offset, first sample flags
		if flags&f != 0 {
			off += 4
		}
	}
	entry := 4 * bits.OnesCount32(flags&0xf00) // duration, size, flags, composition offset
	if off > len(p) || count*uint64(entry) > uint64(len(p)-off) {
		return 0, fmt.Errorf("record: trun box declares %d samples in %d bytes", count, len(p))
	}
	if flags&0x100 == 0 {
		return 0, nil // the defaults in tfhd, which the recorder does not use
	}
	var d uint64
	for i := range int(count) {
		d += uint64(binary.BigEndian.Uint32(p[off+i*entry:]))
	}
	return d, nil
}

// flvDuration is the timestamp of an FLV file's last whole tag: found from
// the PreviousTagSize at the end, or, for a file whose last tag was torn
// by a crash, by walking the tag headers from the start.
func flvDuration(r io.ReadSeeker, size int64) (time.Duration, error) {
	header := func(at int64) (n int64, ts uint32, ok bool) {
		var h [11]byte
		if _, err := r.Seek(at, io.SeekStart); err != nil {
			return 0, 0, false
		}
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, 0, false
		}
		n = int64(h[1])<<16 | int64(h[2])<<8 | int64(h[3])
		return n, uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6]) | uint32(h[7])<<24, true
	}
	if size >= 13+15 {
		var b [4]byte
		if _, err := r.Seek(size-4, io.SeekStart); err == nil {
			if _, err := io.ReadFull(r, b[:]); err == nil {
				last := int64(binary.BigEndian.Uint32(b[:]))
				if n, ts, ok := header(size - 4 - last); ok && last >= 11 && n == last-11 {
					return time.Duration(ts) * time.Millisecond, nil
				}
			}
		}
	}
	var last uint32
	for pos := int64(13); ; {
		n, ts, ok := header(pos)
		if !ok || pos+11+n+4 > size {
			break
		}
		last = max(last, ts)
		pos += 11 + n + 4
	}
	if last == 0 && size > 13 {
		return 0, errors.New("record: read FLV: no whole tag")
	}
	return time.Duration(last) * time.Millisecond, nil
}

// Open returns the recording file of stream, for downloading. Names that
// are not a recording of that stream (a path, "..", another folder) are
// not found, and nothing is opened outside the recordings folder, even
// through a link.
func (r *Recorder) Open(stream, file string) (*os.File, error) {
	if _, ok := parseName(stream, file); !ok {
		return nil, os.ErrNotExist
	}
	root, err := os.OpenRoot(r.cfg.Dir)
	if err != nil {
		return nil, os.ErrNotExist
	}
	defer root.Close()
	name := stream + "/" + file
	if st, err := root.Lstat(name); err != nil || !st.Mode().IsRegular() {
		return nil, os.ErrNotExist
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, os.ErrNotExist
	}
	return f, nil
}

// markWriting records that path is (or is no longer) open for writing.
func (r *Recorder) markWriting(path string, on bool) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if !on {
		delete(r.writing, path)
		return
	}
	if r.writing == nil {
		r.writing = map[string]bool{}
	}
	r.writing[path] = true
}

// isWriting reports whether stream's recording file is being written.
func (r *Recorder) isWriting(stream, file string) bool {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return r.writing[filepath.Join(r.cfg.Dir, stream, file)]
}

// Delete removes one of stream's finished recordings. Names are checked
// as Open checks them: anything that is not a recording of that stream,
// or is a link, is not found (os.ErrNotExist), and nothing outside the
// recordings folder is touched. A file still being written is refused
// with ErrWriting.
func (r *Recorder) Delete(stream, file string) error {
	if _, ok := parseName(stream, file); !ok {
		return os.ErrNotExist
	}
	root, err := os.OpenRoot(r.cfg.Dir)
	if err != nil {
		return os.ErrNotExist
	}
	defer root.Close()
	name := stream + "/" + file
	// held while removing, so a file cannot start being written between
	// the check and the removal
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.writing[filepath.Join(r.cfg.Dir, stream, file)] {
		return ErrWriting
	}
	if st, err := root.Lstat(name); err != nil || !st.Mode().IsRegular() {
		return os.ErrNotExist
	}
	if err := root.Remove(name); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return os.ErrNotExist
		}
		return fmt.Errorf("record: delete %s: %w", name, err)
	}
	ferr := r.forget(stream, file)
	if r.log != nil {
		r.log.Info("recording deleted", "stream", stream, "file", file)
		if ferr != nil {
			r.log.Warn("lesson settings not updated", "stream", stream, "file", file, "err", ferr)
		}
	}
	return nil
}
