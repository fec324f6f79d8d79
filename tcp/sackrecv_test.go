package tcp

// The receiving side of SACK (RFC 2018 §4) and D-SACK (RFC 2883): what
// the ACKs report about out-of-order and duplicate data.

import (
	"bytes"
	"testing"
)

// A receiver with SACK (the peer's SYN-ACK offers it; no timestamps, so up
// to four blocks fit) keeps out-of-order segments and acknowledges each at
// once with a duplicate ACK (RFC 5681 §4.2) whose SACK blocks list what it
// holds, the block holding the segment that triggered the ACK first and
// the others most recent first (RFC 2018 §4). A duplicate is reported in a
// D-SACK block, first (RFC 2883 §4): for a duplicate of held out-of-order
// data the block that holds it comes second; a duplicate below RCV.NXT is
// followed by the usual blocks. Each segment that fills a hole is
// acknowledged at once, and the last one with one cumulative ACK and no
// SACK option.
func TestReceiveOutOfOrderSACKAndDSACK(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).sackOK())
	h.exactOptions()
	data := pattern(700) // 5001..5701, in seven 100-byte pieces
	piece := func(i int) pkt {
		return ack(Value(5001+100*i), 1001).data(data[100*i : 100*(i+1)])
	}

	h.send(piece(0))
	h.expect(ack(1001, 5101))
	h.send(piece(2))
	h.expect(ack(1001, 5101).sack(5201, 5301))
	h.send(piece(4))
	h.expect(ack(1001, 5101).sack(5401, 5501, 5201, 5301))
	h.send(piece(6))
	h.expect(ack(1001, 5101).sack(5601, 5701, 5401, 5501, 5201, 5301))
	if n := h.c.Unread(); n != 100 {
		t.Fatalf("Unread = %d, want 100: out-of-order data is not readable", n)
	}

	// A duplicate of held out-of-order data.
	h.send(piece(2))
	h.expect(ack(1001, 5101).sack(5201, 5301, 5201, 5301, 5601, 5701, 5401, 5501))
	// A duplicate below RCV.NXT.
	h.send(piece(0))
	h.expect(ack(1001, 5101).sack(5001, 5101, 5201, 5301, 5601, 5701, 5401, 5501))
	// The D-SACK is reported once.
	h.send(piece(4))
	h.expect(ack(1001, 5101).sack(5401, 5501, 5401, 5501, 5201, 5301, 5601, 5701))

	h.send(piece(1))
	h.expect(ack(1001, 5301).sack(5401, 5501, 5601, 5701))
	h.send(piece(3))
	h.expect(ack(1001, 5501).sack(5601, 5701))
	h.send(piece(5))
	h.expect(ack(1001, 5701))
	if got := h.read(); !bytes.Equal(got, data) {
		t.Errorf("Read %d bytes, not the data sent", len(got))
	}
}

// Filling holes: each segment that fills one is acknowledged at once
// (RFC 5681 §4.2), with the blocks still held; the one that fills the last
// gets one cumulative ACK of everything, without a SACK option.
func TestFillingTheLastHoleACKsEverything(t *testing.T) {
	h := newActive(t, nil)
	h.establishWith(0, synAck(5000, 1001).mss(1460).sackOK())
	h.exactOptions()
	data := pattern(500)
	h.send(ack(5201, 1001).data(data[200:300]))
	h.expect(ack(1001, 5001).sack(5201, 5301))
	h.send(ack(5401, 1001).data(data[400:500]))
	h.expect(ack(1001, 5001).sack(5401, 5501, 5201, 5301))
	h.send(ack(5001, 1001).data(data[:200]))
	h.expect(ack(1001, 5301).sack(5401, 5501))
	h.send(ack(5301, 1001).data(data[300:400]))
	h.expect(ack(1001, 5501))
	if got := h.read(); !bytes.Equal(got, data) {
		t.Errorf("Read %d bytes, not the data sent", len(got))
	}
}

// Without SACK negotiated (the SYN-ACK does not offer it), out-of-order
// data is still kept and duplicate-ACKed at once (RFC 5681 §4.2), but no
// ACK carries SACK blocks, D-SACK included (RFC 2018 §2: only if both
// sides agreed).
func TestNoSACKBlocksWithoutSACKPermitted(t *testing.T) {
	h := newActive(t, nil)
	h.establish()
	h.exactOptions()
	h.send(psh(5101, 1001, "later"))
	h.expect(ack(1001, 5001))
	h.send(psh(5101, 1001, "later"))
	h.expect(ack(1001, 5001))
	h.send(ack(5001, 1001).data(pattern(100)))
	h.expect(ack(1001, 5106))
	h.send(ack(5001, 1001).data(pattern(100)))
	h.expect(ack(1001, 5106))
}

// SACK blocks ride on data segments too, and take room from their payload
// so that the packet still fits the path (as Linux's tcp_current_mss): with
// timestamps (12 bytes) and one block (4+8 bytes), 1448 - 12 = 1436 bytes
// of data per segment while the out-of-order data is held.
func TestSACKBlocksTakeRoomFromData(t *testing.T) {
	h := newActive(t, nil)
	h.establishTS()
	h.send(psh(5006, 1001, "bbbbb").ts(peerTS, h.tsv()))
	h.expect(ack(1001, 5001).ts(h.tsv(), peerTS).sack(5006, 5011))
	data := pattern(3000)
	h.write(data)
	h.expect(
		ack(1001, 5001).ts(h.tsv(), peerTS).sack(5006, 5011).data(data[:1436]),
		ack(2437, 5001).ts(h.tsv(), peerTS).sack(5006, 5011).data(data[1436:2872]),
		psh(3873, 5001, "").ts(h.tsv(), peerTS).sack(5006, 5011).data(data[2872:]),
	)
	// The hole filled, segments are full-sized again.
	h.send(psh(5001, 3001+1000, "aaaaa").ts(peerTS+1, h.tsv()))
	h.expect(ack(4001, 5011).ts(h.tsv(), peerTS+1))
	more := pattern(1448)
	h.write(more)
	h.expect(psh(4001, 5011, "").ts(h.tsv(), peerTS+1).data(more))
}
