package tcp

// Opening a connection: the upper half of RFC 9293 Figure 5.

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/seqack/seqack/trace"
	"github.com/seqack/seqack/wire"
)

// CLOSED → SYN_SENT. RFC 9293 §3.10.1 (OPEN, CLOSED STATE): "A SYN segment
// of the form <SEQ=ISS><CTL=SYN> is sent ... enter SYN-SENT state", with the
// MSS option of §3.7.1; the retransmission timer starts at InitialRTO
// (RFC 6298 §2.1).
func TestConnectSendsSYNWithMSS(t *testing.T) {
	h := newActive(t, nil)
	if err := h.c.Connect(h.now); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	h.expect(syn(1000).mss(1460).fresh())
	h.state(SynSent)
	h.expectTransitions(SynSent)
	h.expectDeadline(time.Second)
	if err := h.c.Connect(h.now); err != ErrAlreadyOpen {
		t.Errorf("second Connect: %v, want ErrAlreadyOpen", err)
	}
	if err := h.c.Listen(h.now); err != ErrAlreadyOpen {
		t.Errorf("Listen on SYN_SENT: %v, want ErrAlreadyOpen", err)
	}
}

// The MSS option announces Config.MSS (RFC 9293 §3.7.1).
func TestConnectAnnouncesConfiguredMSS(t *testing.T) {
	h := newActive(t, &Config{MSS: 1200})
	if err := h.c.Connect(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(syn(1000).mss(1200))
}

// A SYN's window field is meaningful: RFC 9293 §3.10.7.3 has a
// simultaneous-open peer set "SND.WND <- SEG.WND" from a bare SYN, and
// RFC 7323 §2.2 speaks of "the window field in a segment where the SYN bit
// is set". The SYN must advertise our receive buffer, not 0.
func TestSYNAdvertisesReceiveWindow(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: 4096})
	if err := h.c.Connect(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(syn(1000).mss(1460).win(4096))
}

// CLOSED → LISTEN. RFC 9293 §3.10.1 (OPEN, passive): nothing is sent.
func TestListen(t *testing.T) {
	h := newPassive(t, nil)
	if err := h.c.Listen(h.now); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	h.expectNone()
	h.state(Listen)
	h.expectTransitions(Listen)
	h.expectNoTimer()
	if !h.c.Passive() {
		t.Error("Passive() = false after Listen")
	}
	if err := h.c.Listen(h.now); err != ErrAlreadyOpen {
		t.Errorf("second Listen: %v, want ErrAlreadyOpen", err)
	}
}

// LISTEN → SYN_RCVD. RFC 9293 §3.10.7.2 (third, SYN): "Set RCV.NXT to
// SEG.SEQ+1, IRS is set to SEG.SEQ ... <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
// is sent ... the connection state should be changed to SYN-RECEIVED."
// The peer's MSS (smaller than ours) becomes our send MSS.
func TestListenSYNSendsSYNACK(t *testing.T) {
	h := newPassive(t, nil)
	if err := h.c.Listen(h.now); err != nil {
		t.Fatal(err)
	}
	h.markTransitions()
	h.send(syn(1000).mss(1200).win(8000))
	h.expect(synAck(5000, 1001).mss(1460).win(65535).fresh())
	h.state(SynReceived)
	h.expectTransitions(SynReceived)
	h.expectDeadline(time.Second)
	if got := h.c.SendMSS(); got != 1200 {
		t.Errorf("SendMSS = %d, want the peer's 1200", got)
	}
}

// AcceptSYN is Listen + Input(SYN) without the LISTEN event.
func TestAcceptSYN(t *testing.T) {
	h := newPassive(t, &Config{ReceiveBufferSize: 4096})
	h.c.AcceptSYN(syn(1000).mss(1460).segment(), h.now)
	h.expect(synAck(5000, 1001).mss(1460).win(4096))
	h.state(SynReceived)
	h.expectTransitions(SynReceived)
	if !h.c.Passive() {
		t.Error("Passive() = false after AcceptSYN")
	}
}

// SYN_SENT → ESTABLISHED. RFC 9293 §3.10.7.3 (fourth): SND.UNA advances to
// SEG.ACK; "If SND.UNA > ISS (our SYN has been ACKed), change the
// connection state to ESTABLISHED, form an ACK segment
// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
func TestSynSentSYNACKEstablishes(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.markTransitions()
	h.send(synAck(5000, 1001).mss(1000).win(30000))
	h.expect(ack(1001, 5001).win(65535))
	h.state(Established)
	h.expectTransitions(Established)
	h.expectNoTimer()
	if got := h.c.SendMSS(); got != 1000 {
		t.Errorf("SendMSS = %d, want 1000", got)
	}
}

// SYN_SENT → SYN_RCVD, simultaneous open. RFC 9293 §3.10.7.3 (fourth,
// otherwise): "enter SYN-RECEIVED, form a SYN,ACK segment
// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it." Then SYN_RCVD →
// ESTABLISHED on the peer's ACK of our SYN (§3.10.7.4, fifth).
func TestSimultaneousOpen(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.markTransitions()
	h.send(syn(5000).mss(1460))
	h.expect(synAck(1000, 5001).mss(1460))
	h.state(SynReceived)
	h.expectTransitions(SynReceived)
	h.send(ack(5001, 1001))
	h.expectNone()
	h.state(Established)
	h.expectTransitions(Established)
	h.expectNoTimer()
	if h.c.Passive() {
		t.Error("Passive() = true for an active open")
	}
}

// Simultaneous open, the way RFC 9293 Figure 7 draws it: both SYNs cross,
// both sides answer with SYN,ACK, and each SYN,ACK completes the
// handshake. Its SYN repeats the peer's (SEG.SEQ < RCV.NXT), so it is
// acknowledged once more, as Linux does (and as §3.10.7.4 does any
// segment that is not acceptable); the figure draws no such ACK.
// (conform/scripts/handshake/simultaneous-open.pkt, against the kernel.)
func TestSimultaneousOpenFigure7(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.markTransitions()
	h.send(syn(5000).mss(1460))
	h.expect(synAck(1000, 5001).mss(1460))
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(ack(1001, 5001))
	h.state(Established)
	h.expectTransitions(SynReceived, Established)
	h.expectNoTimer()
	// A SYN,ACK that acknowledges something else is still challenged.
	h2 := newActive(t, nil)
	h2.connect()
	h2.send(syn(5000).mss(1460))
	h2.expect(synAck(1000, 5001).mss(1460))
	h2.send(synAck(5000, 999).mss(1460))
	h2.expect(ack(1001, 5001))
	h2.state(SynReceived)
}

// With SACK and timestamps, the ACK of the repeated SYN names it in a
// D-SACK block (RFC 2883), and echoes the SYN,ACK's timestamp: the
// segment was accepted, so its TSval is TS.Recent (RFC 7323 §4.3).
func TestSimultaneousOpenDSACK(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.send(syn(5000).mss(1460).sackOK().ts(700, 0))
	h.expect(synAck(1000, 5001).mss(1460).sackOK().ts(h.tsv(), 700))
	h.send(synAck(5000, 1001).mss(1460).sackOK().ts(710, h.tsv()))
	h.expect(ack(1001, 5001).ts(h.tsv(), 710).sack(5000, 5001))
	h.state(Established)
}

// SYN_RCVD → ESTABLISHED. RFC 9293 §3.10.7.4 (fifth, SYN-RECEIVED): "If
// SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state". The
// SYN-ACK's timer stops.
func TestSynRcvdACKEstablishes(t *testing.T) {
	h := newPassive(t, nil)
	h.toSynRcvd()
	h.advance(50 * time.Millisecond)
	h.send(ack(1001, 5001))
	h.expectNone()
	h.state(Established)
	h.expectTransitions(Established)
	h.expectNoTimer()
}

// The ACK that completes the handshake may carry data; it is delivered.
func TestSynRcvdACKWithData(t *testing.T) {
	h := newPassive(t, nil)
	h.toSynRcvd()
	h.send(psh(1001, 5001, "GET /"))
	h.expect(ack(5001, 1006))
	h.state(Established)
	if got := string(h.read()); got != "GET /" {
		t.Errorf("Read = %q, want %q", got, "GET /")
	}
}

// RFC 9293 §3.10.7.4 (fifth, SYN-RECEIVED): "If the segment
// acknowledgment is not acceptable, form a reset segment
// <SEQ=SEG.ACK><CTL=RST> and send it." The state does not change.
func TestSynRcvdUnacceptableACKDrawsRST(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ackNo Value
	}{
		{"ack = SND.UNA (acks nothing)", 5000},
		{"ack > SND.NXT", 5002},
		{"ack far below", 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPassive(t, nil)
			h.toSynRcvd()
			h.send(ack(1001, tc.ackNo))
			h.expect(rst(tc.ackNo))
			h.state(SynReceived)
		})
	}
}

// SYN_RCVD → LISTEN. RFC 9293 §3.10.7.4 (second, SYN-RECEIVED): "If this
// connection was initiated with a passive OPEN (i.e., came from the LISTEN
// state), then return this connection to LISTEN state". The SYN-ACK timer
// stops, and the connection answers the next SYN as a listener.
func TestSynRcvdRSTReturnsToListen(t *testing.T) {
	h := newPassive(t, nil)
	h.toSynRcvd()
	h.send(rst(1001))
	h.expectNone()
	h.state(Listen)
	h.expectTransitions(Listen)
	h.expectNoTimer()
	if err := h.c.Err(); err != nil {
		t.Errorf("Err = %v, want nil", err)
	}
	h.send(syn(2000).mss(1460))
	h.expect(synAck(5000, 2001).mss(1460))
	h.state(SynReceived)
}

// RFC 9293 §3.10.7.4 (fourth, SYN-RECEIVED): a (new, in-window) SYN on a
// connection from a passive OPEN returns it to LISTEN.
func TestSynRcvdNewSYNReturnsToListen(t *testing.T) {
	h := newPassive(t, nil)
	h.toSynRcvd()
	h.send(syn(1500))
	h.expectNone()
	h.state(Listen)
}

// SYN_RCVD (from an active OPEN) → CLOSED on RST. RFC 9293 §3.10.7.4
// (second, SYN-RECEIVED): "If this connection was initiated with an active
// OPEN ... then the connection was refused".
func TestSynRcvdActiveRSTRefused(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.send(syn(5000).mss(1460))
	h.expect(synAck(1000, 5001).mss(1460))
	h.send(rst(5001))
	h.expectNone()
	h.state(Closed)
	if err := h.c.Err(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Err = %v, want ECONNREFUSED", err)
	}
}

// SYN_RCVD → FIN_WAIT_1. RFC 9293 §3.10.4 (CLOSE, SYN-RECEIVED) allows the
// FIN to be "queued for processing after entering ESTABLISHED state"; the
// engine does that: nothing goes out on Close, and the FIN follows at once
// when the handshake's ACK arrives.
func TestSynRcvdCloseSendsFINOnceEstablished(t *testing.T) {
	h := newPassive(t, nil)
	h.toSynRcvd()
	h.close()
	h.expectNone()
	h.state(SynReceived)
	h.send(ack(1001, 5001))
	h.expect(fin(5001, 1001))
	h.state(FinWait1)
	h.expectTransitions(Established, FinWait1)
	h.send(ack(1001, 5002))
	h.expectNone()
	h.state(FinWait2)
}

// RFC 9293 §3.10.7.3 (first): "If SEG.ACK =< ISS or SEG.ACK > SND.NXT,
// send a reset (unless the RST bit is set ...) <SEQ=SEG.ACK><CTL=RST>".
// The SYN is then sent again after 8 ms rather than the 1 s RTO, as Linux
// does: the reset has likely ended the peer's old connection that drew
// the ACK. Back-off goes on from the RTO (2 s to the next).
// (conform/scripts/handshake/synack-bad-ack.pkt, against the kernel.)
func TestSynSentUnacceptableACKDrawsRST(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   pkt
	}{
		{"SYN-ACK acking ISS", synAck(5000, 1000)},
		{"SYN-ACK acking below ISS", synAck(5000, 999)},
		{"SYN-ACK acking beyond SND.NXT", synAck(5000, 1002)},
		{"bare ACK beyond SND.NXT", ack(5000, 1500)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.connect()
			h.send(tc.in)
			h.expect(rst(tc.in.ack))
			h.state(SynSent)
			h.expectDeadline(synRetryAfterBadACK)
			h.advance(synRetryAfterBadACK)
			h.expect(syn(1000).mss(1460).rtx())
			h.expectDeadline(2 * time.Second)
			h.send(synAck(5000, 1001))
			h.expect(ack(1001, 5001))
			h.state(Established)
		})
	}
}

// Once the SYN has been retransmitted, an unacceptable ACK draws the RST
// but leaves the retransmission timer as it was.
func TestSynSentUnacceptableACKAfterRetransmit(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.advance(time.Second)
	h.expect(syn(1000).mss(1460).rtx())
	h.advance(100 * time.Millisecond)
	h.send(synAck(5000, 1002))
	h.expect(rst(1002))
	h.expectDeadline(1900 * time.Millisecond)
}

// RFC 9293 §3.10.7.3 (first, second): a RST with an unacceptable ACK is
// dropped, and so is a RST without ACK ("If no ACK, then drop the segment").
// A RST never draws a RST.
func TestSynSentRSTWithoutAcceptableACKIgnored(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   pkt
	}{
		{"RST without ACK", rst(5000)},
		{"RST acking beyond SND.NXT", rstAck(0, 1002)},
		{"RST acking ISS", rstAck(0, 1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			h.connect()
			h.send(tc.in)
			h.expectNone()
			h.state(SynSent)
			if err := h.c.Err(); err != nil {
				t.Errorf("Err = %v, want nil", err)
			}
		})
	}
}

// SYN_SENT → CLOSED. RFC 9293 §3.10.7.3 (second): "If the ACK was
// acceptable, then signal to the user 'error: connection reset', drop the
// segment, enter CLOSED state". Go calls that ECONNREFUSED.
func TestSynSentRSTWithACKRefused(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.markTransitions()
	h.send(rstAck(0, 1001))
	h.expectNone()
	h.state(Closed)
	h.expectTransitions(Closed)
	h.expectNoTimer()
	if err := h.c.Err(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Err = %v, want ECONNREFUSED", err)
	}
	if _, err := h.c.Read(make([]byte, 1), h.now); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Read error = %v, want ECONNREFUSED", err)
	}
	var sawError bool
	for _, e := range h.events {
		sawError = sawError || e.Kind == trace.ConnError
	}
	if !sawError {
		t.Error("no ConnError event")
	}
}

// RFC 9293 §3.10.7.3 (fifth): "If neither of the SYN or RST bits is set,
// then drop the segment and return."
func TestSynSentSegmentWithoutSYNDropped(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.send(ack(5000, 1001))
	h.expectNone()
	h.state(SynSent)
	h.send(fin(5000, 1001))
	h.expectNone()
	h.state(SynSent)
}

// LISTEN → CLOSED and SYN_SENT → CLOSED. RFC 9293 §3.10.4 (CLOSE, LISTEN
// and SYN-SENT): "Any outstanding RECEIVEs are returned ... Delete TCB,
// enter CLOSED state". Nothing is sent, no timer is left.
func TestCloseBeforeSynchronized(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *harness)
	}{
		{"LISTEN", func(h *harness) {
			if err := h.c.Listen(h.now); err != nil {
				h.t.Fatal(err)
			}
		}},
		{"SYN_SENT", (*harness).connect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newActive(t, nil)
			tc.setup(h)
			h.markTransitions()
			h.close()
			h.expectNone()
			h.state(Closed)
			h.expectTransitions(Closed)
			h.expectNoTimer()
			h.advance(time.Minute)
			h.expectNone()
		})
	}
}

// Data written in SYN_SENT waits for the handshake and then goes out with
// the ACK (RFC 9293 §3.10.2, SYN-SENT: "Queue the data for transmission
// after entering ESTABLISHED state").
func TestWriteInSynSentSentOnceEstablished(t *testing.T) {
	h := newActive(t, nil)
	h.connect()
	h.write([]byte("early"))
	h.expectNone()
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(psh(1001, 5001, "early"))
	h.state(Established)
}

// The trace of an active open is the textbook's: the state change, the SYN
// sent, the SYN-ACK received, the state change, the ACK sent.
func TestTraceOfActiveOpen(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	type ev struct {
		kind  trace.Kind
		flags wire.TCPFlags
		to    string
	}
	want := []ev{
		{trace.StateChanged, 0, "SYN_SENT"},
		{trace.SegmentSent, wire.FlagSYN, ""},
		{trace.SegmentReceived, wire.FlagSYN | wire.FlagACK, ""},
		{trace.StateChanged, 0, "ESTABLISHED"},
		{trace.SegmentSent, wire.FlagACK, ""},
	}
	var got []ev
	for _, e := range h.events {
		g := ev{kind: e.Kind, to: e.To}
		if e.Kind == trace.SegmentSent || e.Kind == trace.SegmentReceived {
			g.flags = e.Seg.Flags
		}
		got = append(got, g)
		if e.Local != testID.Local || e.Remote != testID.Remote {
			t.Errorf("event %v has endpoints %v %v", e.Kind, e.Local, e.Remote)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// <mss 1460,sackOK,TS val … ecr 0,nop,wscale 7>, as Linux's SYN.
	if s := h.events[1].Seg; s.Seq != 1000 || s.OptionsLen != 20 {
		t.Errorf("traced SYN seq %d with %d option bytes, want 1000 and 20", s.Seq, s.OptionsLen)
	}
}
