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

// A C2SP tlog-proof@v1 file (c2sp.org/tlog-proof) whose extra line is the entry.
type tlogProof struct {
	Text   string `json:"text"`
	Expect bool   `json:"expect"`
}

type input struct {
	Vkey        string        `json:"vkey"`
	Note        string        `json:"note"`
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
	// C2SP tlog-tiles as served under /tlog/tile/: path after "tile/" ->
	// base64 content (hash tiles and entry bundles). Optional.
	Tiles map[string]string `json:"tiles"`
	// tlog-proof files, each carrying its own checkpoint. Optional.
	TlogProofs []tlogProof `json:"tlog_proofs"`
}

// checkTlogProof reads a tlog-proof the way the spec lays it out, opens its
// checkpoint with the verifier, and checks the extra line's entry is the
// leaf at its index of the signed tree.
func checkTlogProof(text string, v note.Verifier) (int64, error) {
	header, rest, ok := strings.Cut(text, "\n")
	if !ok || header != "c2sp.org/tlog-proof@v1" {
		return 0, fmt.Errorf("not a tlog-proof@v1")
	}
	line, rest, _ := strings.Cut(rest, "\n")
	if !strings.HasPrefix(line, "extra ") {
		return 0, fmt.Errorf("no extra line with the entry")
	}
	entry, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(line, "extra "))
	if err != nil {
		return 0, fmt.Errorf("extra: %v", err)
	}
	line, rest, _ = strings.Cut(rest, "\n")
	digits := strings.TrimPrefix(line, "index ")
	index, err := strconv.ParseInt(digits, 10, 64)
	if !strings.HasPrefix(line, "index ") || err != nil || index < 0 || strconv.FormatInt(index, 10) != digits {
		return 0, fmt.Errorf("bad index line %q", line)
	}
	var proof tlog.RecordProof
	for {
		line, rest, ok = strings.Cut(rest, "\n")
		if !ok {
			return index, fmt.Errorf("no empty line before the checkpoint")
		}
		if line == "" {
			break
		}
		b, err := base64.StdEncoding.Strict().DecodeString(line)
		if err != nil || len(b) != tlog.HashSize {
			return index, fmt.Errorf("bad proof hash %q", line)
		}
		var h tlog.Hash
		copy(h[:], b)
		proof = append(proof, h)
	}
	n, err := note.Open([]byte(rest), note.VerifierList(v))
	if err != nil {
		return index, fmt.Errorf("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return index, fmt.Errorf("checkpoint: too few lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return index, fmt.Errorf("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return index, fmt.Errorf("checkpoint root %q", lines[2])
	}
	var r tlog.Hash
	copy(r[:], root)
	return index, tlog.CheckRecord(proof, size, r, index, tlog.RecordHash(entry))
}

// c2sp maps a Go sumdb tile path ("tile/8/L/N[.p/W]", data tiles
// "tile/8/data/N[.p/W]") to the C2SP tlog-tiles one after "tile/"
// ("L/N[.p/W]", "entries/N[.p/W]"): the same tiles, height fixed at 8.
func c2sp(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if strings.HasPrefix(p, "data/") {
		return "entries/" + strings.TrimPrefix(p, "data/")
	}
	return p
}

// tiles serves hash tiles from the input, for tlog.TileHashReader, which
// checks every tile it reads against the signed tree.
type tiles map[string]string

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tile := range ts {
		b64, ok := t[c2sp(tile)]
		if !ok {
			return nil, fmt.Errorf("no tile %s", c2sp(tile))
		}
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// checkTiles mirrors the log from its tiles the way a tlog-tiles client
// does: every hash tile authenticated against the signed root, every entry
// of every bundle hashed to the leaf the tiles hold for it.
func checkTiles(t tiles, size int64, root tlog.Hash) error {
	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, t)
	if h, err := tlog.TreeHash(size, reader); err != nil || h != root {
		return fmt.Errorf("tree hash from tiles: %v", err)
	}
	for start := int64(0); start < size; start += 256 {
		w := size - start
		if w > 256 {
			w = 256
		}
		bundle := tlog.Tile{H: 8, L: -1, N: start / 256, W: int(w)}
		data, err := t.ReadTiles([]tlog.Tile{bundle})
		if err != nil {
			return err
		}
		b := data[0]
		for i := start; i < start+w; i++ {
			if len(b) < 2 {
				return fmt.Errorf("bundle %s ends before entry %d", c2sp(bundle), i)
			}
			n := int(b[0])<<8 | int(b[1])
			if len(b) < 2+n {
				return fmt.Errorf("bundle %s: entry %d is cut short", c2sp(bundle), i)
			}
			leaf, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
			if err != nil {
				return err
			}
			if tlog.RecordHash(b[2:2+n]) != leaf[0] {
				return fmt.Errorf("entry %d in %s does not hash to its leaf", i, c2sp(bundle))
			}
			b = b[2+n:]
		}
		if len(b) != 0 {
			return fmt.Errorf("bundle %s has bytes after its %d entries", c2sp(bundle), w)
		}
	}
	return nil
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
	for i, c := range in.TlogProofs {
		index, err := checkTlogProof(c.Text, v)
		if (err == nil) != c.Expect {
			failed = true
		}
		fmt.Printf("tlog-proof %d (leaf %d): verified=%v expected=%v (%v)\n", i, index, err == nil, c.Expect, err)
	}
	if in.Tiles != nil {
		if err := checkTiles(tiles(in.Tiles), size, root); err != nil {
			fmt.Println("tiles:", err)
			failed = true
		} else {
			fmt.Printf("tiles ok: %d tiles, every hash tile and entry checked against the checkpoint\n", len(in.Tiles))
		}
	}
	if failed {
		os.Exit(1)
	}
}
