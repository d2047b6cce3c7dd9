package dicom

import (
	"fmt"
)

// decodeJPEGLossless decodes a JPEG lossless (ITU-T T.81 process 14, SOF3,
// Huffman) frame: any predictor 1–7, point transform, restart intervals,
// interleaved or per-component scans, 2–16 bits. cmrfm has its own decoder
// because the lossless mode is small and the third-party one mishandles
// predictors other than 1 at the image borders.
func decodeJPEGLossless(b []byte, p PixelInfo, dst []int32) (string, error) {
	d := llDecoder{data: b}
	if err := d.decode(); err != nil {
		return "", errf(ErrCorruptFrame, "JPEG lossless: %v", err)
	}
	if err := checkDims(d.width, d.height, len(d.comps), p); err != nil {
		return "", err
	}
	n := d.width * d.height
	for c, comp := range d.comps {
		if comp.samples == nil {
			return "", errf(ErrCorruptFrame, "JPEG lossless: component %d was never scanned", c)
		}
		for i := 0; i < n; i++ {
			dst[i*len(d.comps)+c] = comp.samples[i]
		}
	}
	return p.Photometric, nil
}

type llHuff struct {
	// lookup by the next 8 bits: code length (0 = longer than 8) and value.
	lookLen [256]uint8
	lookVal [256]uint8
	maxcode [18]int32 // maxcode[l]: largest code of length l, -1 if none
	valptr  [17]int32
	mincode [17]int32
	vals    []uint8
	defined bool
}

type llComp struct {
	id      uint8
	samples []int32
}

type llDecoder struct {
	data          []byte
	pos           int
	precision     int
	width, height int
	comps         []*llComp
	dc            [4]llHuff
	restart       int
	sawFrame      bool
	// bit reader
	acc       uint32
	nbits     uint
	hitMarker bool
}

type llErr string

func (e llErr) Error() string { return string(e) }

const maxLLPixels = 1 << 28

func (d *llDecoder) u16() (int, error) {
	if d.pos+2 > len(d.data) {
		return 0, llErr("unexpected end of data")
	}
	v := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	d.pos += 2
	return v, nil
}

func (d *llDecoder) segment() ([]byte, error) {
	n, err := d.u16()
	if err != nil {
		return nil, err
	}
	if n < 2 || d.pos+n-2 > len(d.data) {
		return nil, llErr(fmt.Sprintf("segment length %d overruns the data", n))
	}
	s := d.data[d.pos : d.pos+n-2]
	d.pos += n - 2
	return s, nil
}

func (d *llDecoder) decode() error {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return llErr("no SOI marker")
	}
	d.pos = 2
	for {
		// find the next marker, skipping fill bytes
		for d.pos < len(d.data) && d.data[d.pos] != 0xFF {
			d.pos++
		}
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			if d.sawFrame {
				return nil // missing EOI: tolerated, as libjpeg does with a warning
			}
			return llErr("no frame before end of data")
		}
		m := d.data[d.pos]
		d.pos++
		switch {
		case m == 0xD9: // EOI
			if !d.sawFrame {
				return llErr("EOI before any frame")
			}
			return nil
		case m == 0xC3:
			s, err := d.segment()
			if err != nil {
				return err
			}
			if err := d.frame(s); err != nil {
				return err
			}
		case m == 0xC4:
			s, err := d.segment()
			if err != nil {
				return err
			}
			if err := d.huffTables(s); err != nil {
				return err
			}
		case m == 0xDD:
			s, err := d.segment()
			if err != nil {
				return err
			}
			if len(s) < 2 {
				return llErr("short DRI segment")
			}
			d.restart = int(s[0])<<8 | int(s[1])
		case m == 0xDA:
			s, err := d.segment()
			if err != nil {
				return err
			}
			if err := d.scan(s); err != nil {
				return err
			}
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return llErr(fmt.Sprintf("frame type SOF%d is not lossless Huffman (SOF3)", m-0xC0))
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			// TEM or stray RSTn: no length
		default:
			if _, err := d.segment(); err != nil {
				return err
			}
		}
	}
}

func (d *llDecoder) frame(s []byte) error {
	if d.sawFrame {
		return llErr("more than one frame")
	}
	if len(s) < 6 {
		return llErr("short SOF3 segment")
	}
	d.precision = int(s[0])
	d.height = int(s[1])<<8 | int(s[2])
	d.width = int(s[3])<<8 | int(s[4])
	nf := int(s[5])
	if d.precision < 2 || d.precision > 16 {
		return llErr(fmt.Sprintf("precision %d", d.precision))
	}
	if d.width == 0 || d.height == 0 || nf == 0 || nf > 4 || len(s) < 6+3*nf {
		return llErr(fmt.Sprintf("bad SOF3: %dx%d, %d components", d.width, d.height, nf))
	}
	if d.width*d.height*nf > maxLLPixels {
		return llErr(fmt.Sprintf("%dx%dx%d samples is too large", d.width, d.height, nf))
	}
	for i := 0; i < nf; i++ {
		if s[7+3*i] != 0x11 {
			return llErr("subsampled components are not supported in lossless JPEG")
		}
		d.comps = append(d.comps, &llComp{id: s[6+3*i]})
	}
	d.sawFrame = true
	return nil
}

func (d *llDecoder) huffTables(s []byte) error {
	for len(s) > 0 {
		if len(s) < 17 {
			return llErr("short DHT segment")
		}
		tc, th := s[0]>>4, s[0]&15
		if th > 3 {
			return llErr("DHT table id > 3")
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(s[l])
			total += counts[l]
		}
		if total > 256 || len(s) < 17+total {
			return llErr("DHT segment overruns")
		}
		vals := s[17 : 17+total]
		s = s[17+total:]
		if tc != 0 {
			continue // AC tables are unused in lossless mode
		}
		h := &d.dc[th]
		*h = llHuff{vals: append([]uint8(nil), vals...), defined: true}
		code, k := int32(0), int32(0)
		for l := 1; l <= 16; l++ {
			h.valptr[l] = k
			h.mincode[l] = code
			code += int32(counts[l])
			k += int32(counts[l])
			if counts[l] > 0 {
				h.maxcode[l] = code - 1
			} else {
				h.maxcode[l] = -1
			}
			if code > 1<<uint(l) {
				return llErr("DHT: over-subscribed Huffman code")
			}
			code <<= 1
		}
		h.maxcode[17] = 0x7fffffff
		// 8-bit lookahead
		code, k = 0, 0
		for l := 1; l <= 8; l++ {
			for i := 0; i < counts[l]; i++ {
				shift := uint(8 - l)
				for j := 0; j < 1<<shift; j++ {
					idx := int(code)<<shift | j
					h.lookLen[idx] = uint8(l)
					h.lookVal[idx] = h.vals[k]
				}
				code++
				k++
			}
			code <<= 1
		}
	}
	return nil
}

// fill loads bytes into the bit accumulator, undoing 0xFF00 stuffing and
// stopping (feeding zeros) at a marker.
func (d *llDecoder) fill() {
	for d.nbits <= 24 {
		var c byte
		if !d.hitMarker && d.pos < len(d.data) {
			c = d.data[d.pos]
			if c == 0xFF {
				if d.pos+1 < len(d.data) && d.data[d.pos+1] == 0x00 {
					d.pos += 2
				} else {
					d.hitMarker = true
					c = 0
				}
			} else {
				d.pos++
			}
		}
		d.acc |= uint32(c) << (24 - d.nbits)
		d.nbits += 8
	}
}

func (d *llDecoder) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if d.nbits < n {
		d.fill()
	}
	v := int32(d.acc >> (32 - n))
	d.acc <<= n
	d.nbits -= n
	return v
}

func (d *llDecoder) huff(h *llHuff) (int, error) {
	if d.nbits < 16 {
		d.fill()
	}
	if l := h.lookLen[d.acc>>24]; l != 0 {
		v := h.lookVal[d.acc>>24]
		d.acc <<= l
		d.nbits -= uint(l)
		return int(v), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | d.bits(1)
		if code <= h.maxcode[l] {
			i := h.valptr[l] + code - h.mincode[l]
			if int(i) >= len(h.vals) {
				break
			}
			return int(h.vals[i]), nil
		}
	}
	return 0, llErr("invalid Huffman code")
}

func (d *llDecoder) scan(s []byte) error {
	if !d.sawFrame {
		return llErr("SOS before SOF3")
	}
	if len(s) < 1 {
		return llErr("short SOS")
	}
	ns := int(s[0])
	if ns < 1 || ns > len(d.comps) || len(s) < 1+2*ns+3 {
		return llErr("bad SOS")
	}
	comps := make([]*llComp, ns)
	tables := make([]*llHuff, ns)
	for i := 0; i < ns; i++ {
		id, td := s[1+2*i], s[2+2*i]>>4
		for _, c := range d.comps {
			if c.id == id {
				comps[i] = c
			}
		}
		if comps[i] == nil {
			return llErr(fmt.Sprintf("SOS names unknown component %d", id))
		}
		if td > 3 || !d.dc[td].defined {
			return llErr(fmt.Sprintf("SOS uses undefined Huffman table %d", td))
		}
		tables[i] = &d.dc[td]
	}
	pred := int(s[1+2*ns])
	pt := uint(s[3+2*ns] & 15)
	if pred < 1 || pred > 7 {
		return llErr(fmt.Sprintf("predictor %d", pred))
	}
	if int(pt) >= d.precision {
		return llErr(fmt.Sprintf("point transform %d with precision %d", pt, d.precision))
	}
	w, h := d.width, d.height
	for _, c := range comps {
		c.samples = make([]int32, w*h)
	}
	d.acc, d.nbits, d.hitMarker = 0, 0, false
	initial := int32(1) << uint(d.precision-int(pt)-1)
	mcus, sinceRestart := 0, 0
	restartRow, restartCol := 0, 0 // position where the current restart interval began
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if d.restart > 0 && sinceRestart == d.restart {
				if err := d.readRestart(); err != nil {
					return err
				}
				sinceRestart = 0
				restartRow, restartCol = y, x
			}
			for i, c := range comps {
				t, err := d.huff(tables[i])
				if err != nil {
					return fmt.Errorf("%w at row %d column %d", err, y, x)
				}
				var diff int32
				switch {
				case t == 0:
				case t == 16:
					diff = 32768
				case t > 16:
					return llErr(fmt.Sprintf("difference category %d", t))
				default:
					v := d.bits(uint(t))
					if v < 1<<uint(t-1) {
						v -= 1<<uint(t) - 1
					}
					diff = v
				}
				row := c.samples[y*w:]
				var px int32
				switch {
				case y == restartRow && x == restartCol:
					px = initial
				case y == restartRow:
					px = row[x-1]
				case x == 0:
					px = c.samples[(y-1)*w]
				default:
					ra, rb, rc := row[x-1], c.samples[(y-1)*w+x], c.samples[(y-1)*w+x-1]
					switch pred {
					case 1:
						px = ra
					case 2:
						px = rb
					case 3:
						px = rc
					case 4:
						px = ra + rb - rc
					case 5:
						px = ra + (rb-rc)>>1
					case 6:
						px = rb + (ra-rc)>>1
					case 7:
						px = (ra + rb) >> 1
					}
				}
				row[x] = (px + diff) & 0xFFFF
			}
			mcus++
			sinceRestart++
		}
	}
	if pt > 0 {
		for _, c := range comps {
			for i := range c.samples {
				c.samples[i] <<= pt
			}
		}
	}
	// leave pos after the entropy-coded data for the marker loop
	d.skipEntropy()
	return nil
}

func (d *llDecoder) readRestart() error {
	d.acc, d.nbits = 0, 0
	d.hitMarker = false
	for d.pos+1 < len(d.data) {
		if d.data[d.pos] == 0xFF && d.data[d.pos+1] >= 0xD0 && d.data[d.pos+1] <= 0xD7 {
			d.pos += 2
			return nil
		}
		if d.data[d.pos] == 0xFF && d.data[d.pos+1] != 0x00 && d.data[d.pos+1] != 0xFF {
			return llErr("expected a restart marker")
		}
		d.pos++
	}
	return llErr("missing restart marker")
}

func (d *llDecoder) skipEntropy() {
	for d.pos+1 < len(d.data) {
		if d.data[d.pos] == 0xFF && d.data[d.pos+1] != 0x00 && (d.data[d.pos+1] < 0xD0 || d.data[d.pos+1] > 0xD7) {
			return
		}
		d.pos++
	}
	d.pos = len(d.data)
}
