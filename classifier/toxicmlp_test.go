package classifier

import (
	"bytes"
	"strings"
	"testing"
)

func mlpTrainOptions(mode string) ToxicTrainOptions {
	return ToxicTrainOptions{Bits: 12, Epochs: 20, NB: 1, Hidden: 8, MLPBits: 11, MLPMode: mode, MLPNorm: 0.5, MLPRate: 0.03}
}

func TestToxicMLPTrainParseScore(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode    string
		hidden2 int
		act     string
		nb      bool
	}{{MLPAlone, 0, "tanh", false}, {MLPJoint, 0, "relu", false}, {MLPResidual, 0, "relu", false}, {MLPAlone, 4, "tanh", false},
		{MLPMean, 0, "tanh", false}, {MLPAlone, 0, "tanh", true}, {MLPResidual, 0, "tanh", true}} {
		opt := mlpTrainOptions(tc.mode)
		opt.Hidden2, opt.MLPAct, opt.MLPNB = tc.hidden2, tc.act, tc.nb
		if tc.mode == MLPResidual && tc.nb {
			opt.MLPStack = 3
		}
		data, err := lex.TrainToxic(toxicTrainSet(), opt)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		if !bytes.HasPrefix(data, []byte("otklik-lr\tv3\t")) || !bytes.Contains(data, []byte("\n"+mlpMarker+"\n")) {
			t.Fatalf("%s: not a v3 model with a network section:\n%.200s", tc.mode, data)
		}
		again, err := lex.TrainToxic(toxicTrainSet(), opt)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, again) {
			t.Errorf("%s: two trainings with the same options wrote different files", tc.mode)
		}
		m, err := ParseToxicModel(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		n := m.mlp
		if n == nil || (n.nbq != nil) != tc.nb || n.mode != tc.mode || n.d != 8 || n.h2 != tc.hidden2 || n.bits != 11 || len(n.e) != 8<<11 || n.tanh != (tc.act == "tanh") {
			t.Fatalf("%s: parsed network %+v", tc.mode, n)
		}
		// Texts of the training set: a network of 8 units on 20 texts learns them, not
		// much beyond.
		toxic, clean := lex.ToxicProbability(m, "опять эти жмыри пишут ерунду"), lex.ToxicProbability(m, "спасибо за концерт в парке, пели от души")
		if toxic < 0.55 || clean > 0.3 {
			t.Errorf("%s: toxic text %.3f (want ≥ 0.55), clean text %.3f (want ≤ 0.3)", tc.mode, toxic, clean)
		}
	}
}

// TestToxicMLPChangesScore checks that the network takes part in the score: the same
// linear weights without the network give another probability.
func TestToxicMLPChangesScore(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	opt := mlpTrainOptions(MLPAlone)
	opt.MLPAct = "tanh"
	data, err := lex.TrainToxic(toxicTrainSet(), opt)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseToxicModel(data)
	if err != nil {
		t.Fatal(err)
	}
	lin := *m
	lin.mlp = nil
	text := "опять эти жмыри пишут ерунду"
	if a, b := lex.ToxicProbability(m, text), lex.ToxicProbability(&lin, text); a == b {
		t.Errorf("the network's logit replaces the linear one, yet the probability stayed at %.4f", a)
	}
	if m.quickMargin() != 1 {
		t.Errorf("quick margin %v with a network, want 1 (always score exactly)", m.quickMargin())
	}
}

func TestToxicMLPLinearFileUnchanged(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := lex.TrainToxic(toxicTrainSet(), ToxicTrainOptions{Bits: 12, Epochs: 5, NB: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("otklik-lr\tv2\t")) || bytes.Contains(data, []byte(mlpMarker)) {
		t.Errorf("linear model: want a v2 file without a network section:\n%.200s", data)
	}
}

func TestToxicMLPOptionErrors(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, set := range map[string]func(*ToxicTrainOptions){
		"hidden too large":   func(o *ToxicTrainOptions) { o.Hidden = mlpMaxHidden + 1 },
		"bad mode":           func(o *ToxicTrainOptions) { o.MLPMode = "stacked" },
		"bits above linear":  func(o *ToxicTrainOptions) { o.MLPBits = 13 },
		"bad activation":     func(o *ToxicTrainOptions) { o.MLPAct = "gelu" },
		"negative hidden2":   func(o *ToxicTrainOptions) { o.Hidden2 = -1 },
		"too small mlp bits": func(o *ToxicTrainOptions) { o.MLPBits = 9 },
	} {
		opt := mlpTrainOptions(MLPJoint)
		set(&opt)
		if _, err := lex.TrainToxic(toxicTrainSet(), opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestToxicMLPParseErrors(t *testing.T) {
	lex, err := New(Config{NoModel: true, NoToxicModel: true})
	if err != nil {
		t.Fatal(err)
	}
	opt := mlpTrainOptions(MLPAlone)
	opt.Hidden2 = 3
	good, err := lex.TrainToxic(toxicTrainSet(), opt)
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	lin, sec, _ := strings.Cut(s, mlpMarker+"\n")
	mlpHeader, rest, _ := strings.Cut(sec, "\n")
	lines := strings.Split(rest, "\n")
	replaceLine := func(prefix, with string) string {
		out := append([]string(nil), lines...)
		for i, l := range out {
			if strings.HasPrefix(l, prefix) {
				out[i] = with
			}
		}
		return lin + mlpMarker + "\n" + mlpHeader + "\n" + strings.Join(out, "\n")
	}
	v2 := strings.Replace(s, "otklik-lr\tv3\t", "otklik-lr\tv2\t", 1)
	tests := map[string]string{
		"v3 without section":  strings.Replace(lin, "otklik-lr\tv2\t", "otklik-lr\tv3\t", 1),
		"v2 with section":     v2,
		"no mlp header":       lin + mlpMarker + "\n" + rest,
		"bad mode":            strings.Replace(s, "mode=alone", "mode=stacked", 1),
		"bad act":             strings.Replace(s, "act=relu", "act=gelu", 1),
		"hidden too large":    strings.Replace(s, "\thidden=8\t", "\thidden=65\t", 1),
		"bits above linear":   strings.Replace(s, "\tbits=11\tnorm", "\tbits=13\tnorm", 1),
		"no escale":           strings.Replace(s, "\tescale=", "\tscale=", 1),
		"bad number":          strings.Replace(s, "\tc=", "\tc=x", 1),
		"missing b1":          replaceLine("b1\t", "# nothing"),
		"short v":             replaceLine("v\t", "v\t0.5"),
		"bad value":           replaceLine("b2\t", "b2\t1\tx\t3"),
		"embeddings too long": strings.Replace(s, "\tbits=11\tnorm", "\tbits=10\tnorm", 1),
		"truncated base64":    s[:len(s)-40] + "\n",
	}
	for name, data := range tests {
		if _, err := ParseToxicModel([]byte(data)); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), "toxic model") && !strings.Contains(err.Error(), "otklik-lr") {
			t.Errorf("%s: error %q does not say it is the toxic model", name, err)
		}
	}
	if _, err := ParseToxicModel(good); err != nil {
		t.Errorf("good model: %v", err)
	}
}
