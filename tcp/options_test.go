package tcp

// The options of RFC 7323 (window scale; timestamps with RTTM and PAWS)
// negotiated in the handshake and used on every later segment.

import (
	"net/netip"
	"testing"
	"time"
)

// ourWscale is the window scale our SYN offers: the smallest shift that
// lets the largest receive buffer (MaxReceiveBufferSize, 6 MiB) be
// advertised, 6 MiB ≤ 65535·2^7 (RFC 7323 §2.3).
const ourWscale = 7

// peerTS is the peer's timestamp clock at the start of a test.
const peerTS = 100

// connectOffering calls Connect and expects our SYN with every option we
// offer by default: MSS, SACK-permitted (RFC 2018 §2), timestamps with
// TSecr 0 (RFC 7323 §3.2) and window scale (RFC 7323 §2.2). A SYN's
// window is never scaled: the receive buffer, up to 65535.
func (h *harness) connectOffering() {
	h.t.Helper()
	h.exactOptions()
	if err := h.c.Connect(h.now); err != nil {
		h.t.Fatalf("Connect: %v", err)
	}
	h.expect(syn(1000).mss(1460).sackOK().ts(h.tsv(), 0).ws(ourWscale).win(uint16(min(h.c.ReceiveBufferSize(), 65535))))
}

// establishTS opens actively with a peer that accepts timestamps (its
// clock at peerTS) and SACK, and no window scaling.
func (h *harness) establishTS() {
	h.t.Helper()
	h.connectOffering()
	h.send(synAck(5000, 1001).mss(1460).sackOK().ts(peerTS, h.tsv()))
	h.expect(ack(1001, 5001).ts(h.tsv(), peerTS).win(65535))
	h.state(Established)
	in := h.c.Info()
	if !in.Timestamps || !in.SACK || in.WindowScaling {
		h.t.Fatalf("negotiated timestamps %v, SACK %v, window scaling %v; want true, true, false",
			in.Timestamps, in.SACK, in.WindowScaling)
	}
	// RFC 7323 §3.2: the option takes 12 bytes of every segment, and of
	// the MSS, as in Linux.
	if got := h.c.SendMSS(); got != 1448 {
		h.t.Fatalf("SendMSS = %d, want 1448", got)
	}
	h.markTransitions()
}

// PAWS (RFC 7323 §5.3 R1): a segment whose TSval is older than TS.Recent
// is an old duplicate, even though its sequence numbers are in the window.
// It is answered with an ACK (echoing TS.Recent, not its TSval) and its
// data is not delivered; the same data with a current TSval is accepted.
// A reset is not subject to PAWS (R1: "If ... the RST bit is not set").
func TestPAWSRejectsOldSegment(t *testing.T) {
	h := newActive(t, nil)
	h.establishTS()
	h.advance(10 * time.Millisecond)
	h.send(psh(5001, 1001, "hello").ts(peerTS+10, h.tsv()-10))
	h.expect(ack(1001, 5006).ts(h.tsv(), peerTS+10))

	h.advance(10 * time.Millisecond)
	h.send(psh(5006, 1001, "stale").ts(peerTS+5, h.tsv()-10)) // older TSval
	h.expect(ack(1001, 5006).ts(h.tsv(), peerTS+10))
	if got := string(h.read()); got != "hello" {
		t.Fatalf("Read = %q, want %q: the old segment's data was delivered", got, "hello")
	}

	h.send(psh(5006, 1001, "fresh").ts(peerTS+20, h.tsv()-10))
	h.expect(ack(1001, 5011).ts(h.tsv(), peerTS+20))
	if got := string(h.read()); got != "fresh" {
		t.Errorf("Read = %q, want %q", got, "fresh")
	}

	// An old timestamp does not protect against a reset at RCV.NXT.
	h.send(rst(5011).ts(peerTS+1, 0))
	h.expectNone()
	h.state(Closed)
}

// Which timestamp is echoed (RFC 7323 §4.3): TS.Recent is updated only
// from a segment that covers Last.ACK.sent (SEG.SEQ ≤ Last.ACK.sent), so
// the ACK of an out-of-order segment echoes the timestamp of the last
// in-order one, and the ACK of the segment that fills the hole echoes
// that segment's — the one that tells the sender how long the hole took.
func TestTimestampEchoRules(t *testing.T) {
	h := newActive(t, nil)
	h.establishTS()
	h.send(psh(5001, 1001, "aaaa").ts(110, h.tsv()))
	h.expect(ack(1001, 5005).ts(h.tsv(), 110))
	h.send(psh(5009, 1001, "cccc").ts(130, h.tsv())) // 5005..5008 missing
	h.expect(ack(1001, 5005).ts(h.tsv(), 110).sack(5009, 5013))
	h.send(psh(5005, 1001, "bbbb").ts(120, h.tsv())) // fills the hole
	h.expect(ack(1001, 5013).ts(h.tsv(), 120))
	if got := string(h.read()); got != "aaaabbbbcccc" {
		t.Errorf("Read = %q, want %q", got, "aaaabbbbcccc")
	}
}

// RTTM (RFC 7323 §4): every ACK of new data that echoes one of our
// timestamps gives an RTT sample, even with several segments in flight.
// After the handshake's 0 ms sample, an ACK echoing a timestamp 100 ms old
// gives SRTT = 7/8·0 + 1/8·100 ms (RFC 6298 §2.3).
func TestTimestampRTTSample(t *testing.T) {
	h := newActive(t, nil)
	h.establishTS()
	sent := h.tsv()
	h.write([]byte("one"))
	h.expect(psh(1001, 5001, "one").ts(sent, peerTS))
	h.advance(100 * time.Millisecond)
	h.send(ack(5001, 1004).ts(peerTS+100, sent))
	h.expectNone()
	if got, want := h.c.Info().RTT, 100*time.Millisecond/8; got < want-time.Millisecond || got > want+time.Millisecond {
		t.Errorf("SRTT = %v, want about %v", got, want)
	}
}

// Window scaling (RFC 7323 §2) on the active side. Our SYN offers shift 7;
// the peer's SYN-ACK offers 2. From then on the peer's window field is
// shifted left by 2 (§2.3: "SND.WND = SEG.WND << Snd.Wind.Shift"), and
// ours right by 7: the 128 KiB receive buffer is advertised as 1024.
// The SYN-ACK's own window is not scaled (§2.2).
func TestWindowScaleNegotiated(t *testing.T) {
	h := newActive(t, nil)
	h.connectOffering()
	h.send(synAck(5000, 1001).mss(1460).ws(2).win(1000))
	h.expect(ack(1001, 5001).win(128 << 10 >> ourWscale))
	in := h.c.Info()
	if !in.WindowScaling || in.SendWindow != 1000 {
		t.Fatalf("WindowScaling %v, SendWindow %d; want true, 1000 (a SYN's window is not scaled)", in.WindowScaling, in.SendWindow)
	}

	// A window field of 730 is 2920 bytes: two segments, no more.
	h.send(ack(5001, 1001).win(730))
	if got := h.c.Info().SendWindow; got != 2920 {
		t.Fatalf("SendWindow = %d, want 2920", got)
	}
	data := pattern(4 * segSize)
	h.write(data)
	h.expect(ack(1001, 5001).data(data[:segSize]), ack(2461, 5001).data(data[segSize:2*segSize]))
	h.send(ack(5001, 3921).win(730))
	h.expect(ack(3921, 5001).data(data[2*segSize:3*segSize]), psh(5381, 5001, "").data(data[3*segSize:]))

	// The window we advertise shrinks by what arrives, in units of 128.
	h.send(ack(5001, 6841).data(pattern(1280)).win(730))
	h.expect(ack(6841, 6281).win((128<<10 - 1280) >> ourWscale))
	h.send(ack(6281, 6841).data(pattern(128)).win(730))
	h.expect(ack(6841, 6409).win((128<<10 - 1408) >> ourWscale))
}

// A SYN-ACK without the window scale option turns scaling off on both
// sides (RFC 7323 §2.2: "If a Window Scale option is received in a <SYN>
// segment but not in the <SYN,ACK>, ... both sides ... use a shift of 0"):
// we advertise the 128 KiB buffer as 65535, unscaled, and take the peer's
// field as bytes.
func TestWindowScaleOffWithoutPeerOption(t *testing.T) {
	h := newActive(t, nil)
	h.connectOffering()
	h.send(synAck(5000, 1001).mss(1460))
	h.expect(ack(1001, 5001).win(65535))
	if h.c.Info().WindowScaling {
		t.Fatal("WindowScaling = true")
	}
	h.send(ack(5001, 1001).win(2920))
	data := pattern(4 * segSize)
	h.write(data)
	h.expect(ack(1001, 5001).data(data[:segSize]), ack(2461, 5001).data(data[segSize:2*segSize]))
	h.send(psh(5001, 3921, "x").win(2920))
	// The byte received moves the window's right edge by 1 only, not
	// worth advertising (RFC 1122 §4.2.3.3): 65534, unscaled.
	h.expect(ack(3921, 5002).data(data[2*segSize:3*segSize]), psh(5381, 5002, "").data(data[3*segSize:]).win(65534))
}

// The passive side answers the options the SYN offered, and only those
// (RFC 7323 §1.3, §2.2; RFC 2018 §2): a SYN with window scale 3 gets a
// SYN-ACK with window scale 7, and the peer's later window fields are
// shifted by 3; a SYN without it gets a SYN-ACK without it.
func TestPassiveWindowScale(t *testing.T) {
	t.Run("offered", func(t *testing.T) {
		h := newPassive(t, nil)
		h.exactOptions()
		if err := h.c.Listen(h.now); err != nil {
			t.Fatal(err)
		}
		h.send(syn(1000).mss(1460).ws(3).win(4000))
		h.expect(synAck(5000, 1001).mss(1460).ws(ourWscale).win(65535))
		h.send(ack(1001, 5001).win(1000))
		h.state(Established)
		if got := h.c.Info().SendWindow; got != 8000 {
			t.Errorf("SendWindow = %d, want 8000", got)
		}
		// The first scaled window: the free buffer, 131070 bytes, with
		// the right edge put on a multiple of the 128-byte unit so that
		// the peer computes the same edge: 1023·128 = 130944.
		h.send(psh(1001, 5001, "hi").win(1000))
		h.expect(ack(5001, 1003).win(1023))
	})
	t.Run("not offered", func(t *testing.T) {
		h := newPassive(t, nil)
		h.exactOptions()
		if err := h.c.Listen(h.now); err != nil {
			t.Fatal(err)
		}
		h.send(syn(1000).mss(1460).sackOK().win(4000))
		h.expect(synAck(5000, 1001).mss(1460).sackOK().win(65535))
		h.send(ack(1001, 5001).win(1000))
		h.state(Established)
		if got := h.c.Info().SendWindow; got != 1000 {
			t.Errorf("SendWindow = %d, want 1000", got)
		}
	})
}

// The window we advertise is one we accept to its edge (RFC 9293 §3.8.6).
// A window scaled by 128 (shift 7) is rounded up, as Linux does, when the
// buffer can take the rounded-up edge, and the peer may fill it; when it
// cannot, it is rounded down (RFC 7323 §2.3: SEG.WND = RCV.WND >> 7), and
// the peer sees the edge retract by less than one unit (RFC 7323 Appendix
// F) instead of having data we offered room for dropped.
func TestScaledWindowIsAcceptedToItsEdge(t *testing.T) {
	h := newActive(t, &Config{ReceiveBufferSize: 4096})
	h.connectOffering()
	h.send(synAck(5000, 1001).mss(1460).ws(0))
	h.expect(ack(1001, 5001).win(32)) // 4096 >> 7: right edge 9097

	// 100 bytes, unread: RCV.WND is 3996, and the buffer cannot take 32
	// units (4096 bytes) beyond RCV.NXT. Rounded down: 31, edge 9069.
	h.send(psh(5001, 1001, "").data(pattern(100)))
	h.expect(ack(1001, 5101).win(31))

	// Read: the buffer is empty, but moving the edge by 100 bytes is not
	// worth a window update (RFC 1122 §4.2.3.3), and RCV.WND stays 3996.
	// The next ACK (here the answer to a window probe) rounds it up to 32
	// units, edge 5101+4096 = 9197, which the buffer can now take: the
	// peer fills it all, and all is accepted.
	h.read()
	h.expectNone()
	h.send(ack(5100, 1001))
	h.expect(ack(1001, 5101).win(32))
	h.send(ack(5101, 1001).data(pattern(4096)))
	h.expect(ack(1001, 9197).win(0))
	if got := h.c.Unread(); got != 4096 {
		t.Errorf("Unread = %d, want 4096", got)
	}
}

// With NoWindowScaling, NoTimestamps and NoSACK our SYN offers only the
// MSS, and a SYN-ACK that offers everything negotiates nothing: each
// option is on only if both SYNs carry it (RFC 7323 §1.3, §2.2;
// RFC 2018 §2). The window field is then never scaled.
func TestOptionsTurnedOff(t *testing.T) {
	h := newActive(t, &Config{NoWindowScaling: true, NoTimestamps: true, NoSACK: true})
	h.exactOptions()
	if err := h.c.Connect(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(syn(1000).mss(1460))
	h.send(synAck(5000, 1001).mss(1460).sackOK().ts(peerTS, 1).ws(3))
	h.expect(ack(1001, 5001).win(65535))
	in := h.c.Info()
	if in.WindowScaling || in.Timestamps || in.SACK || in.SendMSS != 1460 {
		t.Errorf("WindowScaling %v, Timestamps %v, SACK %v, SendMSS %d; want none, 1460",
			in.WindowScaling, in.Timestamps, in.SACK, in.SendMSS)
	}
	h.send(ack(5001, 1001).win(1000))
	if got := h.c.Info().SendWindow; got != 1000 {
		t.Errorf("SendWindow = %d, want 1000", got)
	}
	h.send(psh(5101, 1001, "x").ts(peerTS+1, 1).win(1000)) // out of order: no SACK
	h.expect(ack(1001, 5001))
}

// The timestamp clock's offset depends on the two addresses alone (RFC 7323
// §7.1, as Linux's secure_tcp_ts_off): successive connections between two
// hosts, whatever their ports and ISNs, run one clock, so that a SYN
// reopening a 4-tuple in TIME-WAIT carries a newer timestamp (RFC 6191);
// another pair of hosts sees another offset.
func TestTSOffsetPerAddressPair(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1")
	b := netip.MustParseAddr("10.0.0.2")
	c := netip.MustParseAddr("10.0.0.3")
	first := DefaultTSOffset(a, b)
	if again := DefaultTSOffset(a, b); again != first {
		t.Fatalf("the offset for one address pair changed: %d, then %d", first, again)
	}
	if DefaultTSOffset(a, b) == DefaultTSOffset(a, c) && DefaultTSOffset(a, b) == DefaultTSOffset(c, b) {
		t.Error("three address pairs share one offset")
	}
	var vals []uint32
	for i, port := range []uint16{40000, 40000, 51234} {
		id := ID{Local: netip.AddrPortFrom(a, port), Remote: netip.AddrPortFrom(b, 80)}
		cfg := &Config{ISN: func(ID, time.Time) Value { return Value(1000 + 7777777*i) }}
		conn := NewConn(id, cfg, nil, nil)
		now := epoch.Add(time.Duration(i) * time.Millisecond)
		conn.initSend(now)
		vals = append(vals, conn.tsNow(now))
	}
	for i := 1; i < len(vals); i++ {
		if d := int32(vals[i] - vals[i-1]); d < 0 || d > 2 {
			t.Errorf("TSval %d after %d, 1 ms later on another connection: want the same clock", vals[i], vals[i-1])
		}
	}
}
