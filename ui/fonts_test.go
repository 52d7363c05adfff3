package ui

import (
	"bytes"
	"os"
	"testing"

	"github.com/go-text/typesetting/font"
)

// The studio in Chinese finds a system font with Chinese in regular and
// in bold (fonts-noto-cjk here), each copied out of its collection into
// a font that Fyne can read.
func TestChineseFontsHaveTwoWeights(t *testing.T) {
	regular, bold, err := chineseFonts()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		res    interface{ Content() []byte }
		weight font.Weight
	}{{regular, font.WeightNormal}, {bold, font.WeightBold}} {
		f, err := font.ParseTTF(bytes.NewReader(c.res.Content()))
		if err != nil {
			t.Fatalf("the font does not parse: %v", err)
		}
		if _, ok := f.NominalGlyph('学'); !ok {
			t.Error("the font has no Chinese")
		}
		if _, ok := f.NominalGlyph('A'); !ok {
			t.Error("the font has no Latin letters")
		}
		if d := f.Describe(); d.Aspect.Weight != c.weight {
			t.Errorf("%s has weight %v, want %v", d.Family, d.Aspect.Weight, c.weight)
		}
	}
}

// A damaged collection gives an error, never a panic or a font that
// reads past the file.
func TestFontFromDamagedCollection(t *testing.T) {
	ttc, err := os.ReadFile("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
	if err != nil {
		t.Skip("no font collection here:", err)
	}
	if _, err := fromCollection(ttc, 2); err != nil {
		t.Fatalf("the whole collection: %v", err)
	}
	for _, n := range []int{0, 7, 11, 12, 40, 100, 300, 4096, len(ttc) / 2} {
		if _, err := fromCollection(ttc[:n], 2); err == nil {
			t.Errorf("a collection cut at %d bytes gave a font", n)
		}
	}
	if _, err := fromCollection(ttc, 1000); err == nil {
		t.Error("font 1000 of a collection of a few")
	}
}
