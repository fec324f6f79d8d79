package trace

import (
	"bytes"
	"encoding/binary"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seqack/seqack/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	client  = netip.MustParseAddrPort("10.0.0.1:49152")
	client2 = netip.MustParseAddrPort("10.0.0.3:50000")
	server  = netip.MustParseAddrPort("10.0.0.2:80")
)

// mss1460 is the raw MSS option of a SYN.
var mss1460 = []byte{wire.OptMSS, 4, 0x05, 0xb4}

// A script builds events by hand, in the order a stack would emit them.
// Each event happens 10µs after the one before, unless wait says otherwise.
type script struct {
	now    time.Time
	events []Event
}

func newScript() *script {
	return &script{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// wait advances the clock by d.
func (s *script) wait(d time.Duration) { s.now = s.now.Add(d) }

func (s *script) emit(e Event) {
	e.Time = s.now
	s.events = append(s.events, e)
	s.now = s.now.Add(10 * time.Microsecond)
}

// An end is one end of a connection in a script.
type end struct {
	s             *script
	local, remote netip.AddrPort
}

func (s *script) end(local, remote netip.AddrPort) *end {
	return &end{s, local, remote}
}

func (e *end) state(from, to string) {
	e.s.emit(Event{Kind: StateChanged, Local: e.local, Remote: e.remote, From: from, To: to})
}

func (e *end) send(seg Segment) {
	e.s.emit(Event{Kind: SegmentSent, Local: e.local, Remote: e.remote, Seg: seg})
}

func (e *end) recv(seg Segment) {
	e.s.emit(Event{Kind: SegmentReceived, Local: e.local, Remote: e.remote, Seg: seg})
}

func (e *end) timer(name string) {
	e.s.emit(Event{Kind: TimerFired, Local: e.local, Remote: e.remote, Timer: name})
}

func (e *end) fail(note string) {
	e.s.emit(Event{Kind: ConnError, Local: e.local, Remote: e.remote, Note: note})
}

// listen emits a listener's move to LISTEN on addr.
func (s *script) listen(addr netip.AddrPort) {
	s.emit(Event{Kind: StateChanged, Local: addr, From: "CLOSED", To: "LISTEN"})
}

// seg makes a segment from tcpdump's flag letters ("S", "S.", "F.", ...),
// with a window of 65535.
func seg(flags string, seq, ack uint32, length int, opts ...byte) Segment {
	s := Segment{Seq: seq, Ack: ack, Window: 65535, Len: length}
	for _, c := range flags {
		s.Flags |= map[rune]wire.TCPFlags{
			'F': wire.FlagFIN, 'S': wire.FlagSYN, 'R': wire.FlagRST,
			'P': wire.FlagPSH, '.': wire.FlagACK,
		}[c]
	}
	s.OptionsLen = uint8(copy(s.Options[:], opts))
	return s
}

func retransmitted(s Segment) Segment {
	s.Retransmit = true
	return s
}

// handshake scripts a three-way handshake between c and srv, c opening
// with ISN x and srv answering with ISN y, after srv's listener has moved
// to LISTEN.
func handshake(s *script, c, srv *end, x, y uint32) {
	c.state("CLOSED", "SYN_SENT")
	c.send(seg("S", x, 0, 0, mss1460...))
	srv.recv(seg("S", x, 0, 0, mss1460...))
	srv.state("LISTEN", "SYN_RCVD")
	srv.send(seg("S.", y, x+1, 0, mss1460...))
	c.recv(seg("S.", y, x+1, 0, mss1460...))
	c.state("SYN_SENT", "ESTABLISHED")
	c.send(seg(".", x+1, y+1, 0))
	srv.recv(seg(".", x+1, y+1, 0))
	srv.state("SYN_RCVD", "ESTABLISHED")
}

// conversation scripts a whole connection from client to server: the
// handshake, a 100-byte request and a 50-byte response, and the four-way
// close, begun by the client.
func conversation(x, y uint32) []Event {
	s := newScript()
	c, srv := s.end(client, server), s.end(server, client)
	s.listen(server)
	s.wait(time.Millisecond)
	handshake(s, c, srv, x, y)

	// The request and its response; each is acknowledged.
	c.send(seg("P.", x+1, y+1, 100))
	srv.recv(seg("P.", x+1, y+1, 100))
	srv.send(seg(".", y+1, x+101, 0))
	c.recv(seg(".", y+1, x+101, 0))
	srv.send(seg("P.", y+1, x+101, 50))
	c.recv(seg("P.", y+1, x+101, 50))
	c.send(seg(".", x+101, y+51, 0))
	srv.recv(seg(".", x+101, y+51, 0))

	// The four-way close. Each FIN takes one sequence number.
	c.state("ESTABLISHED", "FIN_WAIT_1")
	c.send(seg("F.", x+101, y+51, 0))
	srv.recv(seg("F.", x+101, y+51, 0))
	srv.state("ESTABLISHED", "CLOSE_WAIT")
	srv.send(seg(".", y+51, x+102, 0))
	c.recv(seg(".", y+51, x+102, 0))
	c.state("FIN_WAIT_1", "FIN_WAIT_2")
	srv.state("CLOSE_WAIT", "LAST_ACK")
	srv.send(seg("F.", y+51, x+102, 0))
	c.recv(seg("F.", y+51, x+102, 0))
	c.state("FIN_WAIT_2", "TIME_WAIT")
	c.send(seg(".", x+102, y+52, 0))
	srv.recv(seg(".", x+102, y+52, 0))
	srv.state("LAST_ACK", "CLOSED")

	s.wait(60 * time.Second)
	c.timer("time-wait")
	c.state("TIME_WAIT", "CLOSED")
	return s.events
}

// simultaneousClose scripts both ends closing at once: each FIN is sent
// before the other arrives (as when a Pipe holds both directions), so both
// ends pass through CLOSING.
func simultaneousClose() []Event {
	s := newScript()
	c, srv := s.end(client, server), s.end(server, client)
	const x, y = 2000, 7000
	c.state("ESTABLISHED", "FIN_WAIT_1")
	c.send(seg("F.", x, y, 0))
	srv.state("ESTABLISHED", "FIN_WAIT_1")
	srv.send(seg("F.", y, x, 0))

	srv.recv(seg("F.", x, y, 0))
	srv.state("FIN_WAIT_1", "CLOSING")
	srv.send(seg(".", y+1, x+1, 0))
	c.recv(seg("F.", y, x, 0))
	c.state("FIN_WAIT_1", "CLOSING")
	c.send(seg(".", x+1, y+1, 0))

	c.recv(seg(".", y+1, x+1, 0))
	c.state("CLOSING", "TIME_WAIT")
	srv.recv(seg(".", x+1, y+1, 0))
	srv.state("CLOSING", "TIME_WAIT")

	s.wait(60 * time.Second)
	c.timer("time-wait")
	c.state("TIME_WAIT", "CLOSED")
	srv.timer("time-wait")
	srv.state("TIME_WAIT", "CLOSED")
	return s.events
}

// lossAndRetransmission scripts a request that is lost, and its
// retransmission when the retransmission timer fires.
func lossAndRetransmission() []Event {
	s := newScript()
	c, srv := s.end(client, server), s.end(server, client)
	const x, y = 1000, 5000
	s.listen(server)
	handshake(s, c, srv, x, y)
	c.send(seg("P.", x+1, y+1, 100)) // lost on the way
	s.wait(200 * time.Millisecond)
	c.timer("retransmit")
	c.send(retransmitted(seg("P.", x+1, y+1, 100)))
	srv.recv(seg("P.", x+1, y+1, 100))
	srv.send(seg(".", y+1, x+101, 0))
	c.recv(seg(".", y+1, x+101, 0))
	return s.events
}

// reset scripts a server that resets the connection.
func reset() []Event {
	s := newScript()
	c, srv := s.end(client, server), s.end(server, client)
	const x, y = 1000, 5000
	s.listen(server)
	handshake(s, c, srv, x, y)
	srv.state("ESTABLISHED", "CLOSED")
	srv.send(seg("R.", y+1, x+1, 0))
	c.recv(seg("R.", y+1, x+1, 0))
	c.state("ESTABLISHED", "CLOSED")
	c.fail("connection reset by peer")
	return s.events
}

// twoConnections scripts two clients connecting to one listener, their
// handshakes interleaved.
func twoConnections() []Event {
	s := newScript()
	c1, srv1 := s.end(client, server), s.end(server, client)
	c2, srv2 := s.end(client2, server), s.end(server, client2)
	s.listen(server)
	c1.state("CLOSED", "SYN_SENT")
	c1.send(seg("S", 100, 0, 0))
	c2.state("CLOSED", "SYN_SENT")
	c2.send(seg("S", 200, 0, 0))
	srv1.recv(seg("S", 100, 0, 0))
	srv1.state("LISTEN", "SYN_RCVD")
	srv1.send(seg("S.", 900, 101, 0))
	srv2.recv(seg("S", 200, 0, 0))
	srv2.state("LISTEN", "SYN_RCVD")
	srv2.send(seg("S.", 800, 201, 0))
	c2.recv(seg("S.", 800, 201, 0))
	c2.state("SYN_SENT", "ESTABLISHED")
	c2.send(seg(".", 201, 801, 0))
	c1.recv(seg("S.", 900, 101, 0))
	c1.state("SYN_SENT", "ESTABLISHED")
	c1.send(seg(".", 101, 901, 0))
	srv1.recv(seg(".", 101, 901, 0))
	srv1.state("SYN_RCVD", "ESTABLISHED")
	srv2.recv(seg(".", 201, 801, 0))
	srv2.state("SYN_RCVD", "ESTABLISHED")
	return s.events
}

// only keeps the events of one end.
func only(addr netip.AddrPort, events []Event) []Event {
	var out []Event
	for _, e := range events {
		if e.Local == addr {
			out = append(out, e)
		}
	}
	return out
}

func TestWriteLadder(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		opts   LadderOptions
	}{
		{"handshake_data_close", conversation(2834719012, 93847563), LadderOptions{}},
		{"simultaneous_close", simultaneousClose(), LadderOptions{}},
		{"relative", conversation(4294967290, 93847563), LadderOptions{Relative: true}},
		{"client_only", only(client, conversation(2834719012, 93847563)), LadderOptions{}},
		{"server_only", only(server, conversation(2834719012, 93847563)), LadderOptions{Relative: true}},
		{"loss", lossAndRetransmission(), LadderOptions{}},
		{"reset", reset(), LadderOptions{Left: server}},
		{"two_connections", twoConnections(), LadderOptions{}},
		{"fast_retransmit", fastRetransmit(), LadderOptions{}},
		{"fast_retransmit_relative", fastRetransmit(), LadderOptions{Relative: true, HideTimestamps: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteLadder(&buf, tt.events, tt.opts); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("WriteLadder output differs from %s (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestLadderShowsTheTextbook checks, independently of the golden files, the
// facts a reader of the textbooks looks for in a ladder.
func TestLadderShowsTheTextbook(t *testing.T) {
	var buf bytes.Buffer
	WriteLadder(&buf, conversation(4294967290, 93847563), LadderOptions{Relative: true})
	out := buf.String()
	for _, want := range []string{
		"SYN_SENT     ── [S] seq 0 win 65535 <mss 1460> ",    // seq x
		"[S.] seq 0 ack 1 win 65535 <mss 1460> ──  SYN_RCVD", // ack x+1
		"── [F.] seq 101 ack 51 win 65535 ",                  // the FIN at 101...
		"[.] seq 51 ack 102 win 65535 ──  CLOSE_WAIT",        // ...is acknowledged with 102
		"10.0.0.1:49152: CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED",
		"10.0.0.2:80: CLOSED → LISTEN → SYN_RCVD → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED",
		"(2MSL timer expired)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}

	// The right-hand state column lines up on every row.
	lines := strings.Split(out, "\n")
	var col int
	for _, line := range lines {
		for _, state := range []string{"  SYN_RCVD", "  CLOSE_WAIT", "  LAST_ACK"} {
			if strings.HasSuffix(line, state) {
				c := len([]rune(line)) - len([]rune(state))
				if col == 0 {
					col = c
				}
				if c != col {
					t.Errorf("right column at %d, want %d: %q", c, col, line)
				}
			}
		}
	}
}

func TestMatchSegments(t *testing.T) {
	tests := []struct {
		name         string
		sends, recvs []int
		want         map[int]int
	}{
		{"one each", []int{1}, []int{2}, map[int]int{2: 1}},
		{"duplicate ACKs in order", []int{1, 2, 3}, []int{4, 5, 6}, map[int]int{4: 1, 5: 2, 6: 3}},
		{"first copy lost", []int{1, 3}, []int{4}, map[int]int{4: 3}},
		{"received before the retransmission", []int{1, 3}, []int{2}, map[int]int{2: 1}},
		{"spurious retransmission", []int{1, 3}, []int{4, 5}, map[int]int{4: 1, 5: 3}},
		{"duplicated by the network", []int{1}, []int{2, 3}, map[int]int{2: 1}},
		{"never sent", nil, []int{2}, map[int]int{}},
	}
	for _, tt := range tests {
		got := matchSegments(map[int][]int{0: tt.sends}, map[int][]int{0: tt.recvs})
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for r, s := range tt.want {
			if got[r] != s {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
}

func TestWriteLadderEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteLadder(&buf, nil, LadderOptions{}); err != nil || buf.Len() != 0 {
		t.Errorf("WriteLadder(nil) wrote %q, %v; want nothing", buf.String(), err)
	}
}

// TestLadderPairsByTag: when the tracer tags segments with their packet's
// identity, a receipt is paired with the very send that carried it. Here
// the original SYN and its retransmission (identical headers) are both held
// on the link and arrive together after the retransmission timer fired: the
// original must be drawn in flight across the timer, not as arriving at
// once.
func TestLadderPairsByTag(t *testing.T) {
	s := newScript()
	c, srv := s.end(client, server), s.end(server, client)
	s.listen(server)
	c.state("CLOSED", "SYN_SENT")
	first := seg("S", 1000, 0, 0, mss1460...)
	first.Tag = 1
	c.send(first)
	s.wait(time.Second)
	c.timer("retransmit")
	again := first
	again.Tag, again.Retransmit = 2, true
	c.send(again)
	s.wait(50 * time.Millisecond)
	srv.recv(first)
	srv.state("LISTEN", "SYN_RCVD")
	synack := seg("S.", 5000, 1001, 0, mss1460...)
	synack.Tag = 1
	srv.send(synack)
	srv.recv(again)

	var out bytes.Buffer
	if err := WriteLadder(&out, s.events, LadderOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	find := func(substr string) []string {
		var got []string
		for _, l := range lines {
			if strings.Contains(l, substr) {
				got = append(got, l)
			}
		}
		return got
	}
	syns := find("[S] seq 1000")
	if len(syns) != 4 {
		t.Fatalf("want 4 half-arrows for the two SYNs (sent and received, each in flight), got %d:\n%s", len(syns), out.String())
	}
	// The original was sent first, in flight, and arrived first.
	if !strings.HasSuffix(strings.TrimSpace(syns[0]), "LISTEN") || !strings.Contains(syns[0], "──…") || strings.Contains(syns[0], "retransmission") {
		t.Errorf("original SYN's send row: %q", syns[0])
	}
	if !strings.Contains(syns[2], "…─") || strings.Contains(syns[2], "retransmission") || !strings.HasSuffix(strings.TrimSpace(syns[2]), "SYN_RCVD") {
		t.Errorf("original SYN's receipt row: %q", syns[2])
	}
	if !strings.Contains(syns[3], "retransmission") || !strings.Contains(syns[3], "…─") {
		t.Errorf("retransmitted SYN's receipt row: %q", syns[3])
	}
}

// Options of a modern SYN (MSS, SACK permitted, timestamps, window scale
// 7), and of later segments (timestamps, SACK blocks).
func synOptions(tsval uint32) []byte {
	o := []byte{wire.OptMSS, 4, 0x05, 0xb4, wire.OptSACKPermitted, 2, wire.OptTimestamps, 10, 0, 0, 0, 0, 0, 0, 0, 0, wire.OptNOP, wire.OptWindowScale, 3, 7}
	binary.BigEndian.PutUint32(o[8:], tsval)
	return o
}

func tsOptions(tsval, tsecr uint32, sack ...uint32) []byte {
	o := []byte{wire.OptNOP, wire.OptNOP, wire.OptTimestamps, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(o[4:], tsval)
	binary.BigEndian.PutUint32(o[8:], tsecr)
	if len(sack) > 0 {
		o = append(o, wire.OptNOP, wire.OptNOP, wire.OptSACK, byte(2+4*len(sack)))
		for _, v := range sack {
			o = binary.BigEndian.AppendUint32(o, v)
		}
	}
	return o
}

// withWindow returns s with its raw window field set to w.
func withWindow(s Segment, w uint16) Segment {
	s.Window = w
	return s
}

// fastRetransmit scripts a connection with window scaling, SACK and
// timestamps: of a flight of five segments the second is lost, the
// receiver answers each later one with a duplicate ACK carrying a SACK
// block, and the sender resends the hole after the third; the network
// then delivers a copy of a segment twice (a D-SACK); last the receiver's
// window closes, the sender's persist timer sends a window probe, and a
// window update opens it again.
func fastRetransmit() []Event {
	s := newScript()
	c, srv := s.end(client, server), s.end(server, client)
	var x, y uint32 = 4294967000, 5000 // the client's numbers wrap around
	both := func(from, to *end, seg Segment) {
		from.send(seg)
		to.recv(seg)
	}
	s.listen(server)
	c.state("CLOSED", "SYN_SENT")
	both(c, srv, seg("S", x, 0, 0, synOptions(100)...))
	srv.state("LISTEN", "SYN_RCVD")
	both(srv, c, seg("S.", y, x+1, 0, synOptions(900)...))
	c.state("SYN_SENT", "ESTABLISHED")
	ack := func(a uint32, sack ...uint32) Segment {
		return withWindow(seg(".", y+1, a, 0, tsOptions(901, 101, sack...)...), 512)
	}
	data := func(off uint32) Segment {
		return withWindow(seg(".", x+1+off, y+1, 100, tsOptions(101, 900)...), 512)
	}
	both(c, srv, withWindow(seg(".", x+1, y+1, 0, tsOptions(101, 900)...), 512))
	srv.state("SYN_RCVD", "ESTABLISHED")

	for off := uint32(0); off < 500; off += 100 {
		c.send(data(off))
	}
	s.wait(time.Millisecond)
	srv.recv(data(0))
	srv.send(ack(x + 101))
	for off := uint32(200); off < 500; off += 100 { // 100 was lost
		srv.recv(data(off))
		srv.send(ack(x+101, x+201, x+101+off))
	}
	s.wait(time.Millisecond)
	c.recv(ack(x + 101))
	for off := uint32(200); off < 500; off += 100 {
		c.recv(ack(x+101, x+201, x+101+off))
	}
	c.send(retransmitted(data(100)))
	s.wait(time.Millisecond)
	srv.recv(retransmitted(data(100)))
	srv.send(ack(x + 501))
	srv.recv(data(200)) // a copy the network made
	srv.send(ack(x+501, x+201, x+301))
	s.wait(time.Millisecond)
	c.recv(ack(x + 501))
	c.recv(ack(x+501, x+201, x+301))

	// The server's application stops reading: its window closes.
	both(srv, c, withWindow(ack(x+501), 0))
	s.wait(200 * time.Millisecond)
	c.timer("persist")
	probe := withWindow(seg(".", x+500, y+1, 0, tsOptions(301, 901)...), 512)
	both(c, srv, probe)
	both(srv, c, withWindow(ack(x+501), 0))
	s.wait(50 * time.Millisecond)
	both(srv, c, ack(x+501)) // it reads again: a window update
	return s.events
}

// TestAnalyze checks what the analysis finds in fastRetransmit, field by
// field: the ladder's marks are drawn from it.
func TestAnalyze(t *testing.T) {
	conns := Analyze(fastRetransmit(), LadderOptions{Relative: true})
	if len(conns) != 1 || conns[0].Left != client || conns[0].Right != server {
		t.Fatalf("Analyze: %+v; want one connection, client on the left", conns)
	}
	var lost, fast, dsack, zero, probe, update, copies int
	var dups []int
	for _, s := range conns[0].Segments {
		switch {
		case s.Lost:
			lost++
			if s.Seq != 101 || s.From != client || s.Received {
				t.Errorf("lost segment %+v; want the client's seq 101, never received", s)
			}
		case s.Retransmission == FastRetransmission:
			fast++
			if s.DupACKs != 3 || !s.Received || s.Spurious || s.ReceivedAt <= s.SentAt {
				t.Errorf("fast retransmission %+v; want it after 3 dup ACKs, received later, not spurious", s)
			}
		case s.Retransmission != NotRetransmitted:
			t.Errorf("unexpected retransmission %+v", s)
		}
		if s.DupACK > 0 {
			dups = append(dups, s.DupACK)
			if s.Window != 512<<7 {
				t.Errorf("dup ACK window %d, want %d (scaled by 128)", s.Window, 512<<7)
			}
		}
		if s.DSACK {
			dsack++
		}
		if s.ZeroWindow {
			zero++
		}
		if s.Probe == "window probe" {
			probe++
		}
		if s.WindowUpdate {
			update++
			if !s.WindowChange || s.PrevWindow != 0 || s.Window != 65536 {
				t.Errorf("window update %+v; want 0 → 65536", s)
			}
		}
		if !s.Sent && s.Received {
			copies++
		}
	}
	if lost != 1 || fast != 1 || dsack != 1 || zero != 2 || probe != 1 || update != 1 || copies != 1 {
		t.Errorf("lost %d, fast %d, D-SACK %d, zero window %d, probes %d, updates %d, copies %d; want 1, 1, 1, 2, 1, 1, 1",
			lost, fast, dsack, zero, probe, update, copies)
	}
	if !slices.Equal(dups, []int{1, 2, 3}) {
		t.Errorf("dup ACKs numbered %v, want [1 2 3]", dups)
	}
}

// TestLadderSpurious: a segment resent by timeout whose ACK was only late
// is a spurious retransmission; one resent because its ACK was lost is not.
func TestLadderSpurious(t *testing.T) {
	for _, ackLost := range []bool{false, true} {
		s := newScript()
		c, srv := s.end(client, server), s.end(server, client)
		const x, y = 1000, 5000
		s.listen(server)
		handshake(s, c, srv, x, y)
		c.send(seg("P.", x+1, y+1, 100))
		srv.recv(seg("P.", x+1, y+1, 100))
		srv.send(seg(".", y+1, x+101, 0))
		s.wait(300 * time.Millisecond)
		c.timer("retransmit")
		c.send(retransmitted(seg("P.", x+1, y+1, 100)))
		if !ackLost {
			c.recv(seg(".", y+1, x+101, 0)) // the ACK, late
		}
		srv.recv(seg("P.", x+1, y+1, 100))
		srv.send(seg(".", y+1, x+101, 0))
		c.recv(seg(".", y+1, x+101, 0))

		var out bytes.Buffer
		WriteLadder(&out, s.events, LadderOptions{})
		spurious := strings.Contains(out.String(), "(spurious retransmission)")
		if spurious == ackLost {
			t.Errorf("ACK lost %v: spurious retransmission marked %v, want %v:\n%s", ackLost, spurious, !ackLost, out.String())
		}
	}
}

// TestLadderCrossing: two segments sent at once from both ends over a
// path with a delay cross each other, so each is drawn in flight, sent on
// one line and received on another, as in RFC 9293's simultaneous close;
// neither arrow claims to have arrived before the other was sent.
func TestLadderCrossing(t *testing.T) {
	s := newScript()
	c, srv := s.end(client, server), s.end(server, client)
	const x, y = 2000, 7000
	c.state("ESTABLISHED", "FIN_WAIT_1")
	c.send(seg("F.", x, y, 0))
	srv.state("ESTABLISHED", "FIN_WAIT_1")
	srv.send(seg("F.", y, x, 0))
	s.wait(10 * time.Millisecond)
	c.recv(seg("F.", y, x, 0))
	c.state("FIN_WAIT_1", "CLOSING")
	srv.recv(seg("F.", x, y, 0))
	srv.state("FIN_WAIT_1", "CLOSING")

	var out bytes.Buffer
	WriteLadder(&out, s.events, LadderOptions{})
	var inFlight, arrived int
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.Contains(line, "[F.]") {
			continue
		}
		if strings.Contains(line, "─…") || strings.Contains(line, "…─") {
			if strings.HasPrefix(strings.TrimSpace(line), "0.0") {
				inFlight++
			} else {
				arrived++
			}
		}
	}
	if inFlight != 2 || arrived != 2 {
		t.Errorf("want both FINs drawn in flight (2 halves sent, 2 received), got %d and %d:\n%s", inFlight, arrived, out.String())
	}
}

func TestTimerNote(t *testing.T) {
	for timer, want := range map[string]string{
		"time-wait":   "2MSL timer expired",
		"retransmit":  "retransmission timer expired",
		"delayed-ack": "delayed ACK timer expired",
		"persist":     "persist timer expired",
		"keepalive":   "keep-alive timer expired",
		"fin-wait-2":  "FIN_WAIT_2 timer expired",
		"other":       "other timer expired",
	} {
		if got := timerNote(timer); got != want {
			t.Errorf("timerNote(%q) = %q, want %q", timer, got, want)
		}
	}
}
