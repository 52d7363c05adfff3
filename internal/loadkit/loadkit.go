//go:build linux

// Package loadkit is what Chalkcast's load commands share: starting a
// chalkcast binary as a separate process on fixed loopback ports and
// reading its CPU time and memory from /proc.
package loadkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running chalkcast process.
type Server struct {
	Pid    int
	API    string // http://host:port/api/v1
	Data   string // its temporary data folder
	cmd    *exec.Cmd
	exited chan error
}

// Start runs bin serve on httpAddr and rtmpAddr with a fresh data folder
// and extra flags, and waits until its API answers.
func Start(bin, httpAddr, rtmpAddr string, extra ...string) (*Server, error) {
	for _, a := range []string{httpAddr, rtmpAddr} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return nil, fmt.Errorf("%s is taken (another server running?): %w", a, err)
		}
		ln.Close()
	}
	data, err := os.MkdirTemp("", "chalkcast-load-data-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--http", httpAddr, "--rtmp", rtmpAddr, "--data", data, "--log-level", "warn", "--webrtc-udp", "0", "--webrtc-tcp", "0"}, extra...)
	s := &Server{API: "http://" + httpAddr + "/api/v1", Data: data, cmd: exec.Command(bin, args...), exited: make(chan error, 1)}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(data)
		return nil, fmt.Errorf("start server: %w", err)
	}
	s.Pid = s.cmd.Process.Pid
	go func() { s.exited <- s.cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-s.exited:
			os.RemoveAll(data)
			return nil, fmt.Errorf("server exited at start: %v", err)
		default:
		}
		resp, err := http.Get(s.API + "/server")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("server did not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Call sends a JSON request (body, if not nil) to an API URL and decodes
// the answer into out; an answer of 300 or more is an error with its body.
func Call(method, url string, body, out any) error {
	var b bytes.Buffer
	if body != nil {
		_ = json.NewEncoder(&b).Encode(body)
	}
	req, err := http.NewRequest(method, url, &b)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// CreateStream creates a stream for an RTMP push and returns its key.
func (s *Server) CreateStream(name string) (string, error) {
	resp, err := http.Post(s.API+"/streams", "application/json", strings.NewReader(`{"name":"`+name+`"}`))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var created struct {
		Publish struct{ Key string } `json:"publish"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || created.Publish.Key == "" {
		return "", fmt.Errorf("create stream %s: status %d, %v", name, resp.StatusCode, err)
	}
	return created.Publish.Key, nil
}

// Stop ends the server with SIGTERM and removes its data folder.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.exited
	os.RemoveAll(s.Data)
}

// Stat returns a process's CPU time (user + system), its system part, and
// its resident memory.
func Stat(pid int) (cpu, sys time.Duration, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	pages, _ := strconv.ParseInt(f[21], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+stt) * time.Second / hz, time.Duration(stt) * time.Second / hz, pages * int64(os.Getpagesize()), nil
}

// SelfCPU is this process's CPU time.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
