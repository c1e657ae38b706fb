package classifier

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The toxic model's optional network (`otklik train --toxic --hidden D`): a fastText-like
// embedding bag over the linear model's hashed features — each feature's bucket, folded to
// 2^bits rows, has a D-dimensional vector; the vectors of a text's features are summed and
// divided by n^norm — then a nonlinearity, an optional second hidden layer and a logistic
// output. It is the first nonlinear learner tried on these features (README, toxic model,
// fourth round). Its logit replaces the linear one (MLPAlone) or adds to it (MLPJoint:
// trained together; MLPResidual: trained after the linear model, on its logits as fixed
// offsets) or is averaged with it (MLPMean: trained alone). The linear weights stay in the file either way: they name the evidence and
// give the quick estimate.

// Combination modes of the network with the linear model.
const (
	MLPAlone    = "alone"
	MLPJoint    = "joint"
	MLPResidual = "residual"
	// MLPMean: trained alone, scored as the mean of the two logits (an ensemble of two
	// separately trained learners).
	MLPMean = "mean"
)

// mlpMarker is the line that starts the network's section of a v3 model file.
const mlpMarker = "[mlp]"

// mlpMaxHidden bounds the embedding dimension (a fixed-size accumulator when scoring).
const mlpMaxHidden = 64

// toxicEx is one training text: its features' weight buckets (with repeats), their number
// n, the linear norm n^-Norm, the label, and (MLPResidual) the linear model's logit.
type toxicEx struct {
	b    []uint32
	n    int
	norm float64
	y    float64
	off  float64
}

// toxicJoint is the linear model's state when it learns together with the network.
type toxicJoint struct {
	w, x, g2  []float64
	bias, bg2 *float64
}

// toxicMLP is the trained network, its embeddings quantised to int8.
type toxicMLP struct {
	mode   string
	tanh   bool
	bits   uint
	d, h2  int
	norm   float64
	escale float64   // weight of one embedding quantisation step
	e      []int8    // 2^bits rows of d
	b1     []float64 // d
	w2     []float64 // h2 rows of d
	b2     []float64 // h2
	v      []float64 // d, or h2 with a second layer
	c      float64
	nbq    []int8  // MLPNB: the linear buckets' NB ratios, quantised
	rscale float64 // weight of one NB ratio step, 1 without MLPNB
}

// mlpCheck validates the network's options (after SetDefaults).
func (o *ToxicTrainOptions) mlpCheck() error {
	switch {
	case o.Hidden < 1 || o.Hidden > mlpMaxHidden:
		return fmt.Errorf("hidden %d out of 1..%d", o.Hidden, mlpMaxHidden)
	case o.Hidden2 < 0 || o.Hidden2 > 256:
		return fmt.Errorf("hidden2 %d out of 0..256", o.Hidden2)
	case o.MLPMode != MLPAlone && o.MLPMode != MLPJoint && o.MLPMode != MLPResidual && o.MLPMode != MLPMean:
		return fmt.Errorf("mlp mode %q: want %s, %s, %s or %s", o.MLPMode, MLPAlone, MLPJoint, MLPResidual, MLPMean)
	case o.MLPBits < 10 || o.MLPBits > o.Bits:
		return fmt.Errorf("mlp bits %d out of 10..%d (the linear bits)", o.MLPBits, o.Bits)
	case o.MLPAct != "relu" && o.MLPAct != "tanh":
		return fmt.Errorf("mlp activation %q: want relu or tanh", o.MLPAct)
	}
	return nil
}

func (o *ToxicTrainOptions) mlpDefaults() {
	if o.MLPMode == "" {
		o.MLPMode = MLPJoint
	}
	if o.MLPBits == 0 {
		o.MLPBits = min(16, o.Bits)
	}
	if o.MLPEpochs <= 0 {
		o.MLPEpochs = o.Epochs
	}
	if o.MLPRate <= 0 {
		o.MLPRate = 0.1
	}
	if o.MLPAct == "" {
		o.MLPAct = "relu"
	}
	if o.MLPInit <= 0 {
		o.MLPInit = 0.1
	}
}

func act(tanh bool, a float64) float64 {
	if tanh {
		return math.Tanh(a)
	}
	return max(a, 0)
}

// dact is the activation's derivative from its output h.
func dact(tanh bool, h float64) float64 {
	if tanh {
		return 1 - h*h
	}
	if h > 0 {
		return 1
	}
	return 0
}

// trainToxicMLP trains the network on data (shuffled in place by rng), with the linear
// model alongside when joint is not nil; the embeddings of rows no example touched are
// left zero.
func trainToxicMLP(data []toxicEx, opt ToxicTrainOptions, joint *toxicJoint, x []float64, rng *rand.Rand) *toxicMLP {
	d, h2 := opt.Hidden, opt.Hidden2
	// With MLPNB each feature's vector is scaled by its linear bucket's naive Bayes
	// log-count ratio (as the linear model's inputs are), quantised as it will be stored.
	var nbq []int8
	var nbr []float64
	rscale := 1.0
	if opt.MLPNB && opt.NB > 0 {
		nbq, nbr, rscale = quantise(x)
	}
	rb := func(b uint32) float64 {
		if nbr == nil {
			return 1
		}
		return nbr[b]
	}
	tanh := opt.MLPAct == "tanh"
	rows := 1 << opt.MLPBits
	shift := opt.Bits - opt.MLPBits
	e := make([]float32, rows*d)
	eg := make([]float32, rows) // row-wise AdaGrad
	used := make([]bool, rows)
	for i := range e {
		e[i] = float32((rng.Float64()*2 - 1) * opt.MLPInit)
	}
	b1, gb1 := make([]float64, d), make([]float64, d)
	nout := d
	var w2, gw2, b2, gb2 []float64
	if h2 > 0 {
		nout = h2
		w2, gw2 = make([]float64, h2*d), make([]float64, h2*d)
		b2, gb2 = make([]float64, h2), make([]float64, h2)
		r := 1 / math.Sqrt(float64(d))
		for i := range w2 {
			w2[i] = (rng.Float64()*2 - 1) * r
		}
	}
	v, gv := make([]float64, nout), make([]float64, nout)
	r := 1 / math.Sqrt(float64(nout))
	for i := range v {
		v[i] = (rng.Float64()*2 - 1) * r
	}
	c, gc := 0.0, 0.0
	rate := opt.MLPRate
	const eps = 1e-8
	a1 := make([]float64, d)
	h1 := make([]float64, d)
	dh1 := make([]float64, d)
	hh2 := make([]float64, h2)
	dh2 := make([]float64, h2)
	epochs := opt.MLPEpochs
	if joint != nil {
		epochs = opt.Epochs
	}
	for ep := 0; ep < epochs; ep++ {
		rng.Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
		for i := range data {
			x := &data[i]
			s := 1.0
			if opt.MLPNorm > 0 && x.n > 1 {
				s = math.Pow(float64(x.n), -opt.MLPNorm)
			}
			clear(a1)
			for _, b := range x.b {
				row := e[int(b>>shift)*d:][:d]
				rv := rb(b)
				for k, ev := range row {
					a1[k] += float64(ev) * rv
				}
			}
			for k := range a1 {
				h1[k] = act(tanh, a1[k]*s+b1[k])
			}
			out := h1
			if h2 > 0 {
				for j := 0; j < h2; j++ {
					z := b2[j]
					for k, w := range w2[j*d : (j+1)*d] {
						z += w * h1[k]
					}
					hh2[j] = act(tanh, z)
				}
				out = hh2
			}
			z := c
			for k, h := range out {
				z += v[k] * h
			}
			switch {
			case joint != nil:
				z += *joint.bias
				for _, b := range x.b {
					z += joint.w[b] * joint.x[b] * x.norm
				}
			case opt.MLPMode == MLPResidual:
				z += x.off
			}
			p := 1 / (1 + math.Exp(-z))
			g := p - x.y
			if joint != nil {
				*joint.bg2 += g * g
				*joint.bias -= opt.Rate * g / math.Sqrt(*joint.bg2+eps)
				for _, b := range x.b {
					gi := g*joint.x[b]*x.norm + opt.L2*joint.w[b]
					joint.g2[b] += gi * gi
					joint.w[b] -= opt.Rate * gi / math.Sqrt(joint.g2[b]+eps)
				}
			}
			// Backward: output layer, then the hidden layers, then the embeddings.
			gc += g * g
			c -= rate * g / math.Sqrt(gc+eps)
			if h2 > 0 {
				for j := range dh2 {
					dh2[j] = g * v[j] * dact(tanh, hh2[j])
				}
				clear(dh1)
				for j := 0; j < h2; j++ {
					row := w2[j*d : (j+1)*d]
					for k := range row {
						dh1[k] += dh2[j] * row[k]
					}
				}
				for k := range dh1 {
					dh1[k] *= dact(tanh, h1[k])
				}
				for j := 0; j < h2; j++ {
					row, grow := w2[j*d:(j+1)*d], gw2[j*d:(j+1)*d]
					for k := range row {
						gi := dh2[j] * h1[k]
						grow[k] += gi * gi
						row[k] -= rate * gi / math.Sqrt(grow[k]+eps)
					}
					gb2[j] += dh2[j] * dh2[j]
					b2[j] -= rate * dh2[j] / math.Sqrt(gb2[j]+eps)
				}
			} else {
				for k := range dh1 {
					dh1[k] = g * v[k] * dact(tanh, h1[k])
				}
			}
			for k, h := range out {
				gi := g * h
				gv[k] += gi * gi
				v[k] -= rate * gi / math.Sqrt(gv[k]+eps)
			}
			sq := 0.0
			for k := range dh1 {
				gb1[k] += dh1[k] * dh1[k]
				b1[k] -= rate * dh1[k] / math.Sqrt(gb1[k]+eps)
				dh1[k] *= s
				sq += dh1[k] * dh1[k]
			}
			for _, b := range x.b {
				used[b>>shift] = true
			}
			if sq == 0 && opt.MLPL2 == 0 {
				continue
			}
			for _, b := range x.b {
				ri := int(b >> shift)
				row := e[ri*d:][:d]
				rv := rb(b)
				g2 := sq * rv * rv / float64(d)
				if opt.MLPL2 > 0 {
					g2 = 0
					for k := range row {
						gi := dh1[k]*rv + opt.MLPL2*float64(row[k])
						g2 += gi * gi
					}
					g2 /= float64(d)
				}
				eg[ri] += float32(g2)
				step := rate / math.Sqrt(float64(eg[ri])+eps)
				for k := range row {
					row[k] -= float32(step * (dh1[k]*rv + opt.MLPL2*float64(row[k])))
				}
			}
		}
	}
	m := &toxicMLP{mode: opt.MLPMode, tanh: tanh, bits: opt.MLPBits, d: d, h2: h2, norm: opt.MLPNorm,
		b1: b1, w2: w2, b2: b2, v: v, c: c, nbq: nbq, rscale: rscale}
	maxAbs := 0.0
	for ri, u := range used {
		if !u {
			continue
		}
		for _, x := range e[ri*d : (ri+1)*d] {
			maxAbs = max(maxAbs, math.Abs(float64(x)))
		}
	}
	m.escale = maxAbs / 127
	if m.escale == 0 {
		m.escale = 1
	}
	m.e = make([]int8, rows*d)
	for ri, u := range used {
		if !u {
			continue
		}
		for k, x := range e[ri*d : (ri+1)*d] {
			m.e[ri*d+k] = int8(max(-127, min(127, math.Round(float64(x)/m.escale))))
		}
	}
	return m
}

// netLogit is the logit of m's network for the features of a text with n weighted
// features, combined with the linear logit zlin; Score calls it after its own pass when
// the model has a network, so the linear path is unchanged.
func (m *ToxicModel) netLogit(feats []uint64, n int, zlin float64) float64 {
	var acc [mlpMaxHidden]int32
	shift := m.bits - m.mlp.bits
	for _, f := range feats {
		switch f >> 60 {
		case kindCount, kindWord:
			continue
		}
		m.mlp.add(&acc, m.bucket(f), shift)
	}
	return m.mlp.logit(&acc, n, zlin)
}

// add adds the embedding row of linear bucket b to the accumulator (times the bucket's
// quantised NB ratio with MLPNB).
func (m *toxicMLP) add(acc *[mlpMaxHidden]int32, b uint64, shift uint) {
	row := m.e[int(b>>shift)*m.d:][:m.d]
	if m.nbq != nil {
		r := int32(m.nbq[b])
		for k, x := range row {
			acc[k] += int32(x) * r
		}
		return
	}
	for k, x := range row {
		acc[k] += int32(x)
	}
}

// quantise maps xs to int8 steps of the largest magnitude / 127, and back.
func quantise(xs []float64) ([]int8, []float64, float64) {
	maxAbs := 0.0
	for _, x := range xs {
		maxAbs = max(maxAbs, math.Abs(x))
	}
	scale := maxAbs / 127
	if scale == 0 {
		scale = 1
	}
	q, back := make([]int8, len(xs)), make([]float64, len(xs))
	for i, x := range xs {
		q[i] = int8(math.Round(x / scale))
		back[i] = float64(q[i]) * scale
	}
	return q, back, scale
}

// logit is the network's logit for a text of n features whose embedding rows sum to acc,
// combined with the linear logit zlin as the mode says.
func (m *toxicMLP) logit(acc *[mlpMaxHidden]int32, n int, zlin float64) float64 {
	s := m.escale * m.rscale
	if m.norm > 0 && n > 1 {
		s *= math.Pow(float64(n), -m.norm)
	}
	var h1 [mlpMaxHidden]float64
	for k := 0; k < m.d; k++ {
		h1[k] = act(m.tanh, float64(acc[k])*s+m.b1[k])
	}
	z := m.c
	if m.h2 > 0 {
		for j := 0; j < m.h2; j++ {
			a := m.b2[j]
			for k, w := range m.w2[j*m.d : (j+1)*m.d] {
				a += w * h1[k]
			}
			z += m.v[j] * act(m.tanh, a)
		}
	} else {
		for k := 0; k < m.d; k++ {
			z += m.v[k] * h1[k]
		}
	}
	switch m.mode {
	case MLPAlone:
		return z
	case MLPMean:
		return (zlin + z) / 2
	}
	return zlin + z
}

// write appends the network's section to a model file: the marker, a header line, the
// dense parameters one vector a line, then the int8 embeddings, deflate then base64.
func (m *toxicMLP) write(b *bytes.Buffer) {
	act := "relu"
	if m.tanh {
		act = "tanh"
	}
	fmt.Fprintf(b, "%s\nmlp\tmode=%s\tact=%s\thidden=%d\thidden2=%d\tbits=%d\tnorm=%g\tescale=%g\tc=%g",
		mlpMarker, m.mode, act, m.d, m.h2, m.bits, m.norm, m.escale, m.c)
	if m.nbq != nil {
		fmt.Fprintf(b, "\tnb=1\trscale=%g", m.rscale)
	}
	b.WriteByte('\n')
	vec := func(name string, xs []float64) {
		b.WriteString(name)
		for _, x := range xs {
			b.WriteByte('\t')
			b.WriteString(strconv.FormatFloat(x, 'g', 7, 64))
		}
		b.WriteByte('\n')
	}
	vec("b1", m.b1)
	vec("v", m.v)
	if m.h2 > 0 {
		vec("w2", m.w2)
		vec("b2", m.b2)
	}
	fmt.Fprintf(b, "# int8 embeddings, 2^bits rows of hidden, deflate then base64\n")
	writeInt8s(b, m.e)
	if m.nbq != nil {
		fmt.Fprintf(b, "%s\n# int8 NB ratios, one per linear bucket, deflate then base64\n", mlpNBMarker)
		writeInt8s(b, m.nbq)
	}
}

// mlpNBMarker starts the NB ratios' block of a network section with nb=1.
const mlpNBMarker = "[mlp-nb]"

// writeInt8s appends xs, deflated and base64-encoded in lines of 76.
func writeInt8s(b *bytes.Buffer, xs []int8) {
	raw := make([]byte, len(xs))
	for i, x := range xs {
		raw[i] = byte(x)
	}
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	fw.Write(raw)
	fw.Close()
	enc := base64.StdEncoding.EncodeToString(z.Bytes())
	for len(enc) > 0 {
		k := min(len(enc), 76)
		b.WriteString(enc[:k])
		b.WriteByte('\n')
		enc = enc[k:]
	}
}

// readInt8s reads a block written by writeInt8s up to the line stop (or the end) and
// checks it holds n values; it reports whether it stopped at stop.
func readInt8s(sc *bufio.Scanner, stop string, n int) ([]int8, bool, error) {
	var enc strings.Builder
	stopped := false
	for sc.Scan() {
		l := sc.Text()
		if stop != "" && l == stop {
			stopped = true
			break
		}
		if l != "" && l[0] != '#' {
			enc.WriteString(l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, false, err
	}
	z, err := base64.StdEncoding.DecodeString(enc.String())
	if err != nil {
		return nil, false, err
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), int64(n)+1))
	if err != nil {
		return nil, false, err
	}
	if len(raw) != n {
		return nil, false, fmt.Errorf("%d values, want %d", len(raw), n)
	}
	out := make([]int8, n)
	for i, x := range raw {
		out[i] = int8(x)
	}
	return out, stopped, nil
}

// parseToxicMLP reads the network's section after its marker line; linBits is the linear
// model's bits, which the network's may not exceed.
func parseToxicMLP(sc *bufio.Scanner, linBits uint) (*toxicMLP, error) {
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "mlp\t") {
		return nil, errors.New("mlp section: no \"mlp\" header line after " + mlpMarker)
	}
	m := &toxicMLP{rscale: 1}
	var haveScale, nb bool
	for _, f := range strings.Split(sc.Text(), "\t")[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "mode":
			if v != MLPAlone && v != MLPJoint && v != MLPResidual && v != MLPMean {
				return nil, fmt.Errorf("mlp header: bad mode %q", v)
			}
			m.mode = v
			continue
		case "act":
			if v != "relu" && v != "tanh" {
				return nil, fmt.Errorf("mlp header: bad act %q", v)
			}
			m.tanh = v == "tanh"
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("mlp header: %s: %w", k, err)
		}
		switch k {
		case "hidden":
			if x < 1 || x > mlpMaxHidden || x != math.Trunc(x) {
				return nil, fmt.Errorf("mlp header: bad hidden %q", v)
			}
			m.d = int(x)
		case "hidden2":
			if x < 0 || x > 256 || x != math.Trunc(x) {
				return nil, fmt.Errorf("mlp header: bad hidden2 %q", v)
			}
			m.h2 = int(x)
		case "bits":
			if x < 10 || x > float64(linBits) || x != math.Trunc(x) {
				return nil, fmt.Errorf("mlp header: bad bits %q (10..%d)", v, linBits)
			}
			m.bits = uint(x)
		case "norm":
			m.norm = x
		case "escale":
			if x <= 0 {
				return nil, fmt.Errorf("mlp header: bad escale %q", v)
			}
			m.escale, haveScale = x, true
		case "c":
			m.c = x
		case "nb":
			nb = x == 1
		case "rscale":
			if x <= 0 {
				return nil, fmt.Errorf("mlp header: bad rscale %q", v)
			}
			m.rscale = x
		}
	}
	if m.mode == "" || m.d == 0 || m.bits == 0 || !haveScale {
		return nil, errors.New("mlp header lacks mode, hidden, bits or escale")
	}
	want := []struct {
		name string
		dst  *[]float64
		n    int
	}{{"b1", &m.b1, m.d}, {"v", &m.v, m.d}}
	if m.h2 > 0 {
		want[1].n = m.h2
		want = append(want, struct {
			name string
			dst  *[]float64
			n    int
		}{"w2", &m.w2, m.h2 * m.d}, struct {
			name string
			dst  *[]float64
			n    int
		}{"b2", &m.b2, m.h2})
	}
	for _, w := range want {
		if !sc.Scan() {
			return nil, fmt.Errorf("mlp section: missing %s line", w.name)
		}
		fs := strings.Split(sc.Text(), "\t")
		if fs[0] != w.name {
			return nil, fmt.Errorf("mlp section: line %q where %s was expected", trimForError(sc.Text()), w.name)
		}
		if len(fs)-1 != w.n {
			return nil, fmt.Errorf("mlp section: %s has %d values, want %d", w.name, len(fs)-1, w.n)
		}
		*w.dst = make([]float64, w.n)
		for i, s := range fs[1:] {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("mlp section: %s[%d]: %w", w.name, i, err)
			}
			(*w.dst)[i] = x
		}
	}
	n := (1 << m.bits) * m.d
	var stopped bool
	var err error
	if m.e, stopped, err = readInt8s(sc, mlpNBMarker, n); err != nil {
		return nil, fmt.Errorf("mlp embeddings (2^%d rows of %d): %w", m.bits, m.d, err)
	}
	if stopped != nb {
		return nil, fmt.Errorf("mlp section: nb=1 needs a %s block and only nb=1 may have one", mlpNBMarker)
	}
	if nb {
		if m.nbq, _, err = readInt8s(sc, "", 1<<linBits); err != nil {
			return nil, fmt.Errorf("mlp NB ratios: %w", err)
		}
	}
	return m, nil
}

func trimForError(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// stackedLogits sets each example's offset to the logit of a linear model (the plain
// AdaGrad loop of TrainToxic, Epochs epochs, the NB mix added) trained on the other
// opt.MLPStack-1 parts of data (example i is in part i mod MLPStack).
func stackedLogits(data []toxicEx, x []float64, opt ToxicTrainOptions, cw [2]float64, rng *rand.Rand) {
	k := opt.MLPStack
	w, g2 := make([]float64, len(x)), make([]float64, len(x))
	var sub []*toxicEx
	for f := 0; f < k; f++ {
		clear(w)
		clear(g2)
		bias, bg2 := 0.0, 0.0
		sub = sub[:0]
		for i := range data {
			if i%k != f {
				sub = append(sub, &data[i])
			}
		}
		for ep := 0; ep < opt.Epochs; ep++ {
			rng.Shuffle(len(sub), func(i, j int) { sub[i], sub[j] = sub[j], sub[i] })
			for _, d := range sub {
				adagradStep(d, w, x, g2, &bias, &bg2, cw, opt)
			}
		}
		for i := range data {
			if i%k != f {
				continue
			}
			z := bias
			for _, b := range data[i].b {
				mix := 0.0
				if opt.NB > 0 {
					mix = opt.Mix
				}
				z += (w[b] + mix) * x[b] * data[i].norm
			}
			data[i].off = z
		}
	}
}
