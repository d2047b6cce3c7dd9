package dicom

// Rescale is the modality LUT of one frame: value = Slope·stored + Intercept.
type Rescale struct{ Slope, Intercept float64 }

// Identity reports whether r leaves values unchanged.
func (r Rescale) Identity() bool { return r.Slope == 1 && r.Intercept == 0 }

// rescales returns the rescale of every frame: the per-frame functional
// group's Pixel Value Transformation, else the shared group's, else the
// top-level RescaleSlope/Intercept, else identity.
func rescales(ds *DataSet, frames int) []Rescale {
	top := Rescale{Slope: 1}
	readInto(ds, &top)
	shared := top
	if sh := ds.Seq(TagSharedFunctionalGroups); len(sh) > 0 {
		if pvt := sh[0].Seq(TagPixelValueTransformSeq); len(pvt) > 0 {
			readInto(pvt[0], &shared)
		}
	}
	out := make([]Rescale, frames)
	per := ds.Seq(TagPerFrameFunctionalGroups)
	for i := range out {
		out[i] = shared
		if i < len(per) {
			if pvt := per[i].Seq(TagPixelValueTransformSeq); len(pvt) > 0 {
				readInto(pvt[0], &out[i])
			}
		}
	}
	return out
}

func readInto(ds *DataSet, r *Rescale) {
	if s, ok := ds.Float(TagRescaleSlope); ok && s != 0 {
		r.Slope = s
	}
	if b, ok := ds.Float(TagRescaleIntercept); ok {
		r.Intercept = b
	}
}

// Palette is a PALETTE COLOR lookup table: stored values below First map to
// entry 0, above First+len-1 to the last entry.
type Palette struct {
	First   int
	Bits    int // bits per entry, 8 or 16
	R, G, B []uint16
}

func readPalette(ds *DataSet) (*Palette, error) {
	pal := &Palette{}
	for c, t := range [3][2]Tag{
		{TagRedPaletteDescriptor, TagRedPaletteData},
		{TagGreenPaletteDescriptor, TagGreenPaletteData},
		{TagBluePaletteDescriptor, TagBluePaletteData},
	} {
		desc := ds.Find(t[0])
		data := ds.Find(t[1])
		if desc == nil || data == nil || len(desc.Value) < 6 {
			return nil, errf(ErrBadPixelModule, "PALETTE COLOR without a complete %s descriptor and data (segmented palettes are not supported)", [3]string{"red", "green", "blue"}[c])
		}
		o := ds.order
		n := int(o.Uint16(desc.Value))
		if n == 0 {
			n = 65536
		}
		first := int(o.Uint16(desc.Value[2:]))
		if desc.VR == "SS" {
			first = int(int16(o.Uint16(desc.Value[2:])))
		}
		bits := int(o.Uint16(desc.Value[4:]))
		lut := make([]uint16, n)
		switch {
		case bits == 8 && len(data.Value) == n:
			for i := range lut {
				lut[i] = uint16(data.Value[i])
			}
		case (bits == 8 || bits == 16) && len(data.Value) >= 2*n:
			for i := range lut {
				lut[i] = o.Uint16(data.Value[2*i:])
			}
			if bits == 8 {
				for i := range lut {
					lut[i] &= 0xFF
				}
			}
		default:
			return nil, errf(ErrBadPixelModule, "palette descriptor (%d entries, %d bits) does not match %d bytes of LUT data", n, bits, len(data.Value))
		}
		if c == 0 {
			pal.First, pal.Bits = first, bits
		}
		switch c {
		case 0:
			pal.R = lut
		case 1:
			pal.G = lut
		case 2:
			pal.B = lut
		}
	}
	return pal, nil
}

// Lookup returns the palette colour of stored value v.
func (pal *Palette) Lookup(v int32) (r, g, b uint16) {
	i := int(v) - pal.First
	if i < 0 {
		i = 0
	}
	if n := len(pal.R); i >= n {
		i = n - 1
	}
	gi, bi := min(i, len(pal.G)-1), min(i, len(pal.B)-1)
	return pal.R[i], pal.G[gi], pal.B[bi]
}

// Luma weights of the reference's RGB→grey conversion (ITU-R BT.601 as
// rounded by MATLAB's rgb2gray): grey = 0.2989·R + 0.5870·G + 0.1140·B.
const (
	LumaR = 0.2989
	LumaG = 0.5870
	LumaB = 0.1140
)

// Grey writes the greyscale values of frame i into dst (grown to Rows·Cols
// if short) and returns it. Higher values are always brighter:
//
//	MONOCHROME2:    grey = Slope·v + Intercept
//	MONOCHROME1:    grey = Slope·(lo + hi − v) + Intercept   ([lo, hi] = range of BitsStored)
//	RGB:            grey = 0.2989·R + 0.5870·G + 0.1140·B
//	YBR_FULL:       converted to RGB (PS3.3 C.7.6.3.1.2), then as RGB
//	PALETTE COLOR:  R, G, B looked up in the palette (LUT units), then as RGB
//
// Rescale applies to monochrome images only (colour images have no modality
// LUT).
func (p *Pixels) Grey(i int, dst []float32) []float32 {
	n := p.Rows * p.Cols
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	src := p.Frame(i)
	r := Rescale{Slope: 1}
	if i < len(p.Rescale) {
		r = p.Rescale[i]
	}
	switch p.Photometric {
	case "MONOCHROME1":
		lohi := int32(1)<<uint(p.BitsStored) - 1
		if p.Signed {
			lohi = -1
		}
		for k, v := range src {
			dst[k] = float32(r.Slope*float64(lohi-v) + r.Intercept)
		}
	case "PALETTE COLOR":
		for k, v := range src {
			if p.Palette == nil {
				dst[k] = float32(v)
				continue
			}
			R, G, B := p.Palette.Lookup(v)
			dst[k] = luma(float64(R), float64(G), float64(B))
		}
	case "YBR_FULL":
		off := float64(int(1) << uint(p.BitsStored-1))
		for k := 0; k < n; k++ {
			y, cb, cr := float64(src[3*k]), float64(src[3*k+1])-off, float64(src[3*k+2])-off
			dst[k] = luma(y+1.402*cr, y-0.344136*cb-0.714136*cr, y+1.772*cb)
		}
	default:
		if p.Samples == 3 {
			for k := 0; k < n; k++ {
				dst[k] = luma(float64(src[3*k]), float64(src[3*k+1]), float64(src[3*k+2]))
			}
			break
		}
		if r.Identity() {
			for k, v := range src {
				dst[k] = float32(v)
			}
			break
		}
		for k, v := range src {
			dst[k] = float32(r.Slope*float64(v) + r.Intercept)
		}
	}
	return dst
}

func luma(r, g, b float64) float32 { return float32(LumaR*r + LumaG*g + LumaB*b) }
