//go:build linux

package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/internal/netns"
)

// The addresses on the TUN device: the kernel's side and seqack's.
const (
	kernelAddr = "10.7.0.1"
	seqackAddr = "10.7.0.2"
	tunName    = "tun0"
)

// A build is cmd/seqack built once per test process, with or without the
// race detector.
type build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// builds[0] is without the race detector, builds[1] with it.
var builds [2]build

// seqackBinary builds cmd/seqack once, with the race detector if the
// tests run with it, and returns its path.
func seqackBinary(t *testing.T) string { return buildSeqack(t, raceEnabled) }

// plainSeqackBinary is seqackBinary without the race detector, for tests
// whose figures should measure the stack rather than the detector.
func plainSeqackBinary(t *testing.T) string { return buildSeqack(t, false) }

func buildSeqack(t *testing.T, race bool) string {
	t.Helper()
	b := &builds[0]
	if race {
		b = &builds[1]
	}
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "seqack-integration-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "seqack")
		args := []string{"build", "-o", b.path}
		if race {
			args = append(args, "-race")
		}
		b.out, b.err = exec.Command("go", append(args, "github.com/seqack/seqack/cmd/seqack")...).CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("building seqack: %v\n%s", b.err, b.out)
	}
	return b.path
}

// TestMain removes the built binaries at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	for i := range builds {
		if p := builds[i].path; p != "" {
			os.RemoveAll(filepath.Dir(p))
		}
	}
	os.Exit(code)
}

// process is a command running in a namespace, with its output collected.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	name string

	mu     sync.Mutex
	out    bytes.Buffer
	lines  chan string // each line of standard output, as it comes
	exited chan struct{}
	err    error
}

// start starts name with args in ns, and stops it (SIGKILL) when the test
// ends if it is still running.
func start(t *testing.T, ns *netns.NS, stdin io.Reader, name string, args ...string) *process {
	t.Helper()
	p := &process{t: t, name: filepath.Base(name) + " " + strings.Join(args, " "), lines: make(chan string, 1024), exited: make(chan struct{})}
	p.cmd = ns.Command(context.Background(), name, args...)
	p.cmd.Stdin = stdin
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &lockedWriter{p: p}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stdout)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if raceEnabled && strings.Contains(p.output(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race:\n%s", p.name, p.output())
		}
	})
	return p
}

// lockedWriter appends standard error to the process's output.
type lockedWriter struct{ p *process }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// output returns what the process has printed so far.
func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitLine waits for a line of standard output containing want.
func (p *process) waitLine(want string) {
	p.t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line := <-p.lines:
			if strings.Contains(line, want) {
				return
			}
		case <-p.exited:
			p.t.Fatalf("%s exited (%v) before printing %q:\n%s", p.name, p.err, want, p.output())
		case <-timeout:
			p.t.Fatalf("%s has not printed %q after a minute:\n%s", p.name, want, p.output())
		}
	}
}

// wait waits for the process to exit and returns its error.
func (p *process) wait() error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(5 * time.Minute):
		p.t.Fatalf("%s still running after 5 minutes:\n%s", p.name, p.output())
		return nil
	}
}

// interrupt sends SIGINT, as Ctrl-C does, and waits for the exit.
func (p *process) interrupt() error {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	return p.wait()
}

// serve starts "seqack serve" with the given extra flags, and waits until
// it is ready. It makes the TUN device and configures the kernel's side
// (--host-addr), unless makeTUN made the device already.
func serve(t *testing.T, ns *netns.NS, args ...string) *process {
	t.Helper()
	base := []string{"serve", "--tun", tunName, "--addr", seqackAddr + "/24"}
	if !strings.Contains(ns.Run("ip", "-o", "link", "show"), " "+tunName+":") {
		base = append(base, "--host-addr", kernelAddr+"/24")
	}
	if !slices.Contains(args, "--control") {
		// Not the default, /run/seqack/tun0.sock, which every test's
		// serve (and those of a test process running alongside) would want.
		base = append(base, "--control", filepath.Join(t.TempDir(), "ctl.sock"))
	}
	p := start(t, ns, nil, seqackBinary(t), append(base, args...)...)
	p.waitLine("Ctrl-C stops.")
	return p
}

// makeTUN makes a persistent TUN device in ns, with the kernel's address,
// as "ip tuntap" does, for seqack to attach to. Unlike a device seqack
// makes, it outlives seqack, and so do the kernel's sockets that use it.
func makeTUN(ns *netns.NS) {
	ns.Run("ip", "tuntap", "add", "dev", tunName, "mode", "tun")
	ns.Run("ip", "addr", "add", kernelAddr+"/24", "dev", tunName)
	ns.Run("ip", "link", "set", tunName, "up")
}

// writeRandomFile writes n pseudo-random bytes, the same for a given seed,
// and returns their SHA-256.
func writeRandomFile(t *testing.T, path string, n int, seed uint64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	w := bufio.NewWriter(io.MultiWriter(f, h))
	if _, err := io.CopyN(w, r, int64(n)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// fileSHA256 returns the SHA-256 of a file.
func fileSHA256(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// sockets returns the kernel's TCP sockets in ns that have peer as their
// remote address:port, as "STATE local peer" lines from ss.
func sockets(ns *netns.NS, peer string) []string {
	var out []string
	for _, line := range strings.Split(ns.Run("ss", "-tanH"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[4] == peer {
			out = append(out, f[0]+" "+f[3]+" "+f[4])
		}
	}
	return out
}

// eventually polls cond every 20 ms until it holds or a minute passes, and
// reports whether it held. (A bound on how long to wait, not a check of
// how long something took.)
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
