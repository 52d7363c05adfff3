package ui

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/fontscan"
	"github.com/go-text/typesetting/language"
)

// UseChineseFonts gives the window a system font with Chinese in every
// weight when the studio speaks Chinese. Fyne's own fonts have no
// Chinese, and the font it falls back on for a Chinese character is
// always the regular one, so a bold label or button mixed bold Latin
// with regular Chinese. Without such a font the theme stays as it is.
// It returns the regular font (nil when the studio does not speak
// Chinese), for what Chalkcast draws itself: a scene's placeholders.
func UseChineseFonts(a fyne.App) ([]byte, error) {
	if !strings.HasPrefix(lang.SystemLocale().LanguageString(), "zh") {
		return nil, nil
	}
	regular, bold, err := chineseFonts()
	if err != nil {
		return nil, err
	}
	a.Settings().SetTheme(&chineseTheme{Theme: theme.DefaultTheme(), regular: regular, bold: bold})
	return regular.Content(), nil
}

// chineseTheme is the default theme with a Chinese font for text.
type chineseTheme struct {
	fyne.Theme
	regular, bold fyne.Resource
}

// Font is the Chinese font in its weight; a Chinese font has no italic.
func (t *chineseTheme) Font(s fyne.TextStyle) fyne.Resource {
	switch {
	case s.Monospace || s.Symbol:
		return t.Theme.Font(s)
	case s.Bold:
		return t.bold
	}
	return t.regular
}

// chineseFonts finds the system's Chinese font in regular and bold. A
// collection (.ttc) holds several fonts, and Fyne reads single fonts
// only: the one wanted is copied out of it. With no bold Chinese font
// the regular one is used for bold too: one weight, never two mixed.
func chineseFonts() (regular, bold fyne.Resource, err error) {
	fm := fontscan.NewFontMap(nil)
	if err := fm.UseSystemFonts(""); err != nil { // the index Fyne keeps too
		return nil, nil, fmt.Errorf("listing the system fonts: %w", err)
	}
	zh, _ := fontscan.NewLangID(language.NewLanguage("zh-cn"))
	// the system fonts with Simplified Chinese in a regular and a bold
	// weight, best first: Linux (fonts-noto-cjk, and Adobe's name for
	// the same font), Windows, macOS
	families := []string{"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", fontscan.SansSerif}
	find := func(w font.Weight) (font.FontID, bool) {
		fm.SetQuery(fontscan.Query{Families: families, Aspect: font.Aspect{Style: font.StyleNormal, Weight: w}})
		face := fm.ResolveFaceForLang(zh)
		if face == nil {
			return font.FontID{}, false
		}
		if _, ok := face.NominalGlyph('中'); !ok {
			return font.FontID{}, false
		}
		_, aspect := fm.FontMetadata(face.Font)
		return fm.FontLocation(face.Font), aspect.Weight >= font.WeightBold || w < font.WeightBold
	}
	reg, ok := find(font.WeightNormal)
	if !ok {
		return nil, nil, errors.New("no Chinese font on this computer")
	}
	if regular, err = loadFont(reg); err != nil {
		return nil, nil, err
	}
	if b, ok := find(font.WeightBold); ok && b != reg {
		if bold, err = loadFont(b); err != nil {
			return nil, nil, err
		}
		return regular, bold, nil
	}
	return regular, regular, nil
}

// loadFont reads one font, out of a collection if it is in one.
func loadFont(id font.FontID) (fyne.Resource, error) {
	b, err := os.ReadFile(id.File)
	if err != nil {
		return nil, fmt.Errorf("reading a font: %w", err)
	}
	if string(b[:min(4, len(b))]) == "ttcf" {
		if b, err = fromCollection(b, int(id.Index)); err != nil {
			return nil, fmt.Errorf("font %s: %w", id.File, err)
		}
	}
	return fyne.NewStaticResource(fmt.Sprintf("%s-%d", id.File, id.Index), b), nil
}

// fromCollection copies font i of an OpenType collection into a font file
// of its own: its table directory, then its tables, each at a new offset.
func fromCollection(ttc []byte, i int) ([]byte, error) {
	bad := errors.New("not a well-formed font collection")
	u32 := func(off int) (uint32, bool) {
		if off < 0 || off+4 > len(ttc) {
			return 0, false
		}
		return binary.BigEndian.Uint32(ttc[off:]), true
	}
	n, ok := u32(8)
	if !ok || i >= int(n) {
		return nil, bad
	}
	o, ok := u32(12 + 4*i)
	if !ok || int(o)+12 > len(ttc) {
		return nil, bad
	}
	dir := int(o)
	tables := int(binary.BigEndian.Uint16(ttc[dir+4:]))
	if dir+12+16*tables > len(ttc) {
		return nil, bad
	}
	out := make([]byte, 12+16*tables)
	copy(out, ttc[dir:dir+12])
	for t := range tables {
		rec := ttc[dir+12+16*t : dir+12+16*(t+1)]
		off, length := int(binary.BigEndian.Uint32(rec[8:])), int(binary.BigEndian.Uint32(rec[12:]))
		if off < 0 || length < 0 || off+length > len(ttc) {
			return nil, bad
		}
		w := out[12+16*t:]
		copy(w[:8], rec[:8]) // tag and checksum
		binary.BigEndian.PutUint32(w[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(w[12:], uint32(length))
		out = append(out, ttc[off:off+length]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}
