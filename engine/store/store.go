// Package store keeps the engine's stream configurations in a JSON file in
// the data folder, written atomically so that a crash never leaves a
// half-written file and keys are never lost.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"chalkcast/engine"
)

// File is a Store backed by one JSON file.
type File struct {
	path string
}

// New returns a store at dir/streams.json, creating dir if needed.
func New(dir string) (*File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data folder %s: %w", dir, err)
	}
	return &File{path: filepath.Join(dir, "streams.json")}, nil
}

type document struct {
	Version int                   `json:"version"`
	Streams []engine.StreamConfig `json:"streams"`
}

// Load reads the saved streams; a missing file means none.
func (f *File) Load() ([]engine.StreamConfig, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", f.path, err)
	}
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("store: %s is not a valid streams file: %w", f.path, err)
	}
	return d.Streams, nil
}

// Save replaces the file with streams: write a temporary file, sync it,
// then rename it over the old one.
func (f *File) Save(streams []engine.StreamConfig) error {
	b, err := json.MarshalIndent(document{Version: 1, Streams: streams}, "", "  ")
	if err != nil {
		return fmt.Errorf("store: encode streams: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".streams-*.json")
	if err != nil {
		return fmt.Errorf("store: save streams: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("store: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("store: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("store: chmod %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("store: replace %s: %w", f.path, err)
	}
	return nil
}
