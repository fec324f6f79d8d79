module github.com/seqack/seqack/bench

go 1.24.1

require (
	github.com/seqack/seqack v0.0.0
	golang.org/x/sys v0.41.0
)

require (
	github.com/google/btree v1.1.2 // indirect
	golang.org/x/time v0.7.0 // indirect
	gvisor.dev/gvisor v0.0.0-20250911055229-61a46406f068
)

replace github.com/seqack/seqack => ../
