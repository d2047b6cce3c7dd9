package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// scanPickle walks one pickle (protocols 0–5) from the start of b to its
// STOP opcode without executing it, and checks that every length an opcode
// declares (strings, bytes, frames, long integers) fits in the bytes that
// are left. It returns the pickle's length in bytes.
//
// gopickle allocates a declared length before reading it, so a hostile file
// declaring a 100 GB string would exhaust memory; after this check every
// allocation it makes is bounded by the input's size. Opcodes that only
// build containers or call classes need no check: each pushes a bounded
// number of objects, and cmrfm's class resolver (findClass) never runs code.
func scanPickle(b []byte) (int, error) {
	p := 0
	need := func(n uint64, what string) error {
		if n > uint64(len(b)-p) {
			return fmt.Errorf("pickle: %s of %d bytes at offset %d, only %d left", what, n, p, len(b)-p)
		}
		return nil
	}
	line := func() error {
		i := bytes.IndexByte(b[p:], '\n')
		if i < 0 {
			return fmt.Errorf("pickle: unterminated line argument at offset %d", p)
		}
		p += i + 1
		return nil
	}
	for p < len(b) {
		op := b[p]
		p++
		var n uint64
		switch op {
		case '.': // STOP
			return p, nil
		// No argument.
		case '(', ')', ']', '}', 'N', 'Q', 'a', 'b', 'd', 'e', 'l', 'o', 's', 't', 'u', '0', '1', '2', 'R', '\x81', '\x85',
			'\x86', '\x87', '\x88', '\x89', '\x8f', '\x90', '\x91', '\x92', '\x93', '\x94', '\x97', '\x98':
			continue
		// One-byte argument.
		case 'K', 'h', 'q', '\x80', '\x82':
			if err := need(1, "argument"); err != nil {
				return 0, err
			}
			p++
			continue
		// Two-byte argument.
		case 'M', '\x83':
			if err := need(2, "argument"); err != nil {
				return 0, err
			}
			p += 2
			continue
		// Four-byte argument.
		case 'J', 'j', 'r', '\x84':
			if err := need(4, "argument"); err != nil {
				return 0, err
			}
			p += 4
			continue
		case 'G': // BINFLOAT
			if err := need(8, "float"); err != nil {
				return 0, err
			}
			p += 8
			continue
		// Newline-terminated arguments.
		case 'I', 'L', 'F', 'S', 'V', 'g', 'p', 'P':
			if err := line(); err != nil {
				return 0, err
			}
			continue
		case 'c', 'i': // GLOBAL, INST: module and name lines
			if err := line(); err != nil {
				return 0, err
			}
			if err := line(); err != nil {
				return 0, err
			}
			continue
		// Length-prefixed data: one-byte length.
		case 'U', 'C', '\x8c', '\x8a':
			if err := need(1, "length"); err != nil {
				return 0, err
			}
			n = uint64(b[p])
			p++
		// Four-byte length.
		case 'T', 'X', 'B', '\x8b':
			if err := need(4, "length"); err != nil {
				return 0, err
			}
			n = uint64(binary.LittleEndian.Uint32(b[p:]))
			if (op == 'T' || op == '\x8b') && int32(n) < 0 {
				return 0, fmt.Errorf("pickle: negative length at offset %d", p)
			}
			p += 4
		// Eight-byte length.
		case '\x8d', '\x8e', '\x96', '\x95':
			if err := need(8, "length"); err != nil {
				return 0, err
			}
			n = binary.LittleEndian.Uint64(b[p:])
			p += 8
			if op == '\x95' { // FRAME: the frame's opcodes follow and are scanned as usual
				if err := need(n, "frame"); err != nil {
					return 0, err
				}
				continue
			}
		default:
			return 0, fmt.Errorf("pickle: unknown opcode 0x%02x at offset %d", op, p-1)
		}
		if err := need(n, "data"); err != nil {
			return 0, err
		}
		p += int(n)
	}
	return 0, fmt.Errorf("pickle: no STOP opcode in %d bytes", len(b))
}
