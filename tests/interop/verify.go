// An independent verifier of Stockade's ledger, on Go's reference packages
// (golang.org/x/mod/sumdb/note and sumdb/tlog), which the Rust crates port.
// Reads cases as JSON on stdin; prints one line per case; exits 1 if any
// case's outcome differs from what the case expects.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	Index  int64    `json:"index"`
	Entry  string   `json:"entry_b64"`
	Proof  []string `json:"proof"`
	Expect bool     `json:"expect"`
}

type consistency struct {
	Old     int64    `json:"old"`
	OldRoot string   `json:"old_root"`
	Proof   []string `json:"proof"`
	Expect  bool     `json:"expect"`
}

type input struct {
	Vkey        string        `json:"vkey"`
	Note        string        `json:"note"`
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
}

func hash(s string) tlog.Hash {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(h) {
		fmt.Println("bad hash", s)
		os.Exit(2)
	}
	copy(h[:], b)
	return h
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Println("bad input:", err)
		os.Exit(2)
	}
	v, err := note.NewVerifier(in.Vkey)
	if err != nil {
		fmt.Println("verifier key:", err)
		os.Exit(1)
	}
	n, err := note.Open([]byte(in.Note), note.VerifierList(v))
	if err != nil {
		fmt.Println("checkpoint:", err)
		os.Exit(1)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fmt.Println("checkpoint: too few lines")
		os.Exit(1)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fmt.Println("checkpoint size:", err)
		os.Exit(1)
	}
	root := hash(lines[2])
	fmt.Printf("checkpoint ok: origin %s, size %d\n", lines[0], size)
	failed := false
	for i, c := range in.Inclusion {
		entry, _ := base64.StdEncoding.DecodeString(c.Entry)
		proof := make(tlog.RecordProof, len(c.Proof))
		for j, p := range c.Proof {
			proof[j] = hash(p)
		}
		err := tlog.CheckRecord(proof, size, root, c.Index, tlog.RecordHash(entry))
		if (err == nil) != c.Expect {
			failed = true
		}
		fmt.Printf("inclusion %d (leaf %d): verified=%v expected=%v\n", i, c.Index, err == nil, c.Expect)
	}
	for i, c := range in.Consistency {
		proof := make(tlog.TreeProof, len(c.Proof))
		for j, p := range c.Proof {
			proof[j] = hash(p)
		}
		err := tlog.CheckTree(proof, size, root, c.Old, hash(c.OldRoot))
		if (err == nil) != c.Expect {
			failed = true
		}
		fmt.Printf("consistency %d (%d -> %d): verified=%v expected=%v\n", i, c.Old, size, err == nil, c.Expect)
	}
	if failed {
		os.Exit(1)
	}
}
