package dicom

import (
	"bytes"
	"image"
	"image/jpeg"
)

// decodeJPEGColour decodes an 8-bit JPEG (baseline or progressive) with the
// standard library's decoder. For three components (YBR_FULL_422 / YBR_FULL
// / RGB) it then
// upsamples the chroma planes and converts YCbCr to RGB exactly as libjpeg
// does by default (jdsample.c "fancy" triangular upsampling, jdcolor.c
// fixed-point conversion), which is what dcmtk, GDCM and Pillow output.
func decodeJPEGColour(b []byte, p PixelInfo, dst []int32) (string, error) {
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return "", errf(ErrCorruptFrame, "JPEG: %v", err)
	}
	r := img.Bounds()
	if r.Dx() != p.Cols || r.Dy() != p.Rows {
		return "", errf(ErrCorruptFrame, "JPEG is %dx%d, header says %dx%d", r.Dx(), r.Dy(), p.Cols, p.Rows)
	}
	switch m := img.(type) {
	case *image.Gray:
		if p.Samples != 1 {
			break
		}
		for y := 0; y < p.Rows; y++ {
			for x := 0; x < p.Cols; x++ {
				dst[y*p.Cols+x] = int32(m.Pix[m.PixOffset(x, y)])
			}
		}
		return p.Photometric, nil
	case *image.YCbCr:
		ycbcrToRGB(m, dst)
		return "RGB", nil
	case *image.RGBA: // Adobe transform 0: components are R, G, B
		w, h := p.Cols, p.Rows
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				o := m.PixOffset(x, y)
				k := 3 * (y*w + x)
				dst[k], dst[k+1], dst[k+2] = int32(m.Pix[o]), int32(m.Pix[o+1]), int32(m.Pix[o+2])
			}
		}
		return "RGB", nil
	}
	return "", errf(ErrUnsupportedPixelFormat, "JPEG colour model %T", img)
}

// ycbcrToRGB upsamples m's chroma to full resolution with libjpeg's fancy
// upsampling (h2v1 and h2v2; other ratios replicate) and converts to RGB
// with libjpeg's table arithmetic.
func ycbcrToRGB(m *image.YCbCr, dst []int32) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cb := upsample(m.Cb, m.CStride, m.SubsampleRatio, w, h)
	cr := upsample(m.Cr, m.CStride, m.SubsampleRatio, w, h)
	const scale = 16
	const half = 1 << (scale - 1)
	fix := func(x float64) int { return int(x*(1<<scale) + 0.5) }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			Y := int(m.Y[y*m.YStride+x])
			b := int(cb[y*w+x]) - 128
			r := int(cr[y*w+x]) - 128
			R := Y + (fix(1.40200)*r+half)>>scale
			G := Y + (-fix(0.34414)*b-fix(0.71414)*r+half)>>scale
			B := Y + (fix(1.77200)*b+half)>>scale
			k := 3 * (y*w + x)
			dst[k], dst[k+1], dst[k+2] = clamp255(R), clamp255(G), clamp255(B)
		}
	}
}

func clamp255(v int) int32 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return int32(v)
}

// upsample returns a w×h plane from a chroma plane subsampled by ratio.
func upsample(c []byte, stride int, ratio image.YCbCrSubsampleRatio, w, h int) []byte {
	out := make([]byte, w*h)
	cw := (w + 1) / 2
	switch ratio {
	case image.YCbCrSubsampleRatio444:
		for y := 0; y < h; y++ {
			copy(out[y*w:(y+1)*w], c[y*stride:])
		}
	case image.YCbCrSubsampleRatio422:
		for y := 0; y < h; y++ {
			h2v1(c[y*stride:y*stride+cw], out[y*w:(y+1)*w])
		}
	case image.YCbCrSubsampleRatio420:
		ch := (h + 1) / 2
		for y := 0; y < h; y++ {
			// libjpeg h2v2: vertical 3:1 blend with the nearer neighbour row,
			// then horizontal triangle filter on the 4x-scaled sums.
			cy := y / 2
			ny := cy - 1
			if y%2 == 1 {
				ny = cy + 1
			}
			ny = max(0, min(ch-1, ny))
			row0, row1 := c[cy*stride:], c[ny*stride:]
			col := make([]int, cw)
			for i := 0; i < cw; i++ {
				col[i] = 3*int(row0[i]) + int(row1[i])
			}
			o := out[y*w : (y+1)*w]
			if cw == 1 {
				for x := range o {
					o[x] = byte((col[0]*4 + 8) >> 4)
				}
				continue
			}
			for i := 0; i < cw; i++ {
				l, r := col[max(0, i-1)], col[min(cw-1, i+1)]
				if 2*i < w {
					if i == 0 {
						o[0] = byte((col[0]*4 + 8) >> 4)
					} else {
						o[2*i] = byte((col[i]*3 + l + 8) >> 4)
					}
				}
				if 2*i+1 < w {
					if i == cw-1 {
						o[2*i+1] = byte((col[i]*4 + 7) >> 4)
					} else {
						o[2*i+1] = byte((col[i]*3 + r + 7) >> 4)
					}
				}
			}
		}
	default:
		hs, vs := 1, 1
		switch ratio {
		case image.YCbCrSubsampleRatio440:
			vs = 2
		case image.YCbCrSubsampleRatio411:
			hs = 4
		case image.YCbCrSubsampleRatio410:
			hs, vs = 4, 2
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out[y*w+x] = c[(y/vs)*stride+x/hs]
			}
		}
	}
	return out
}

// h2v1 is libjpeg's h2v1_fancy_upsample for one row.
func h2v1(in, out []byte) {
	n := len(in)
	if n == 1 {
		for i := range out {
			out[i] = in[0]
		}
		return
	}
	for i := 0; i < n; i++ {
		v := 3 * int(in[i])
		if 2*i < len(out) {
			if i == 0 {
				out[0] = in[0]
			} else {
				out[2*i] = byte((v + int(in[i-1]) + 1) >> 2)
			}
		}
		if 2*i+1 < len(out) {
			if i == n-1 {
				out[2*i+1] = in[i]
			} else {
				out[2*i+1] = byte((v + int(in[i+1]) + 2) >> 2)
			}
		}
	}
}
