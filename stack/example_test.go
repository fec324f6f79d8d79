package stack_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"

	"github.com/seqack/seqack/link"
	"github.com/seqack/seqack/stack"
)

// Two hosts joined by an in-memory link; net/http runs on them unchanged.
func Example() {
	a, b := link.Pipe()
	client, _ := stack.New(a, stack.Config{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}})
	server, _ := stack.New(b, stack.Config{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}})
	defer client.Close()
	defer server.Close()

	ln, _ := server.Listen("tcp", ":80") // a net.Listener
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s\n", r.RemoteAddr)
	}))

	hc := &http.Client{Transport: &http.Transport{DialContext: client.DialContext}}
	resp, err := hc.Get("http://10.0.0.2/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%.16s\n", body) // the port varies
	// Output: hello, 10.0.0.1:
}
