// Package nginxtest runs Debian's nginx with the RTMP module on loopback,
// the real server Chalkcast pushes streams to in tests.
package nginxtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"chalkcast/internal/rtsptest"
	"chalkcast/internal/testkit"
)

// module is where Debian's libnginx-mod-rtmp puts the module.
const module = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// Nginx is an nginx-rtmp server with one application, "live". It pings
// its clients every 3 s and drops those that do not answer within 2 s.
type Nginx struct {
	t    testing.TB
	Port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

// Start starts nginx on a free loopback port; it is stopped when the test
// ends.
func Start(t testing.TB) *Nginx {
	t.Helper()
	testkit.NeedTools(t, "nginx")
	if _, err := os.Stat(module); err != nil {
		testkit.NeedTools(t, "the nginx RTMP module (libnginx-mod-rtmp)")
	}
	n := &Nginx{t: t, Port: rtsptest.FreePort(t), dir: t.TempDir()}
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
worker_processes 1;
pid %s/nginx.pid;
error_log stderr info;
events { worker_connections 256; }
rtmp { server { listen 127.0.0.1:%d; chunk_size 4096; ping 3s; ping_timeout 2s; application live { live on; } } }
`, module, n.dir, n.Port)
	if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Restart()
	t.Cleanup(n.Stop)
	return n
}

// URL is the RTMP address of stream key in the live application.
func (n *Nginx) URL(key string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.Port, key)
}

// Restart starts nginx (again) and waits until it listens.
func (n *Nginx) Restart() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd := exec.Command("nginx", "-p", n.dir, "-c", filepath.Join(n.dir, "nginx.conf"))
	n.logs = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start nginx: %v", err)
	}
	n.cmd = cmd
	testkit.WaitFor(n.t, 10*time.Second, "nginx to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", n.Port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// Stop kills nginx, as a crashed or restarted server.
func (n *Nginx) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
	n.cmd = nil
}
