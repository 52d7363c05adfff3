// Package codec parses and builds codec configuration records (H.264 and
// H.265 decoder configuration records, AAC AudioSpecificConfig) and turns
// them into engine.CodecConfig values. Sources and outputs share it; it
// holds no state and knows no container.
package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"chalkcast/engine"
)

// ErrShort is returned for truncated input.
var ErrShort = errors.New("codec: record is truncated")

// AVCRecord is an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3).
type AVCRecord struct {
	Profile, Compat, Level byte
	SPS, PPS               [][]byte
}

// ParseAVCRecord parses an AVCDecoderConfigurationRecord.
func ParseAVCRecord(b []byte) (AVCRecord, error) {
	var r AVCRecord
	if len(b) < 6 {
		return r, ErrShort
	}
	if b[0] != 1 {
		return r, fmt.Errorf("codec: AVC record version %d, want 1", b[0])
	}
	r.Profile, r.Compat, r.Level = b[1], b[2], b[3]
	pos := 5
	var err error
	if r.SPS, pos, err = nalArray(b, int(b[5]&0x1f), 6); err != nil {
		return r, fmt.Errorf("codec: AVC record SPS: %w", err)
	}
	if pos >= len(b) {
		return r, fmt.Errorf("codec: AVC record PPS count: %w", ErrShort)
	}
	if r.PPS, _, err = nalArray(b, int(b[pos]), pos+1); err != nil {
		return r, fmt.Errorf("codec: AVC record PPS: %w", err)
	}
	if len(r.SPS) == 0 {
		return r, errors.New("codec: AVC record has no SPS")
	}
	return r, nil
}

// nalArray reads n 16-bit-length-prefixed NAL units starting at start.
func nalArray(b []byte, n, start int) ([][]byte, int, error) {
	pos := start
	out := make([][]byte, 0, min(n, len(b)/3)) // a count is not trusted before its data is seen
	for range n {
		if pos+2 > len(b) {
			return nil, pos, ErrShort
		}
		l := int(binary.BigEndian.Uint16(b[pos:]))
		pos += 2
		if l == 0 || pos+l > len(b) {
			return nil, pos, ErrShort
		}
		out = append(out, b[pos:pos+l])
		pos += l
	}
	return out, pos, nil
}

// BuildAVCRecord makes an AVCDecoderConfigurationRecord from parameter sets.
func BuildAVCRecord(sps, pps [][]byte) ([]byte, error) {
	if len(sps) == 0 || len(sps[0]) < 4 || len(pps) == 0 || hasEmpty(sps) || hasEmpty(pps) {
		return nil, errors.New("codec: AVC record needs an SPS and a PPS")
	}
	b := []byte{1, sps[0][1], sps[0][2], sps[0][3], 0xff, 0xe0 | byte(len(sps))}
	for _, s := range sps {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = append(b, byte(len(pps)))
	for _, p := range pps {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
	}
	return b, nil
}

// H264Config describes an H.264 stream from its configuration record.
func H264Config(record []byte) (*engine.CodecConfig, error) {
	r, err := ParseAVCRecord(record)
	if err != nil {
		return nil, err
	}
	var sps h264.SPS
	if err := sps.Unmarshal(r.SPS[0]); err != nil {
		return nil, fmt.Errorf("codec: H.264 SPS: %w", err)
	}
	return &engine.CodecConfig{
		Codec:   engine.CodecH264,
		Record:  record,
		Width:   sps.Width(),
		Height:  sps.Height(),
		Profile: h264Profile(sps.ProfileIdc, sps.ConstraintSet1Flag),
	}, nil
}

func h264Profile(idc uint8, constrained bool) string {
	switch idc {
	case 66:
		if constrained {
			return "Constrained Baseline"
		}
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4"
	}
	return fmt.Sprintf("profile %d", idc)
}

// HEVCParams returns the VPS, SPS and PPS NAL units of an
// HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3).
func HEVCParams(b []byte) (vps, sps, pps [][]byte, err error) {
	if len(b) < 23 {
		return nil, nil, nil, ErrShort
	}
	if b[0] != 1 {
		return nil, nil, nil, fmt.Errorf("codec: HEVC record version %d, want 1", b[0])
	}
	n := int(b[22])
	pos := 23
	for range n {
		if pos+3 > len(b) {
			return nil, nil, nil, ErrShort
		}
		typ := b[pos] & 0x3f
		cnt := int(binary.BigEndian.Uint16(b[pos+1:]))
		var nalus [][]byte
		if nalus, pos, err = nalArray(b, cnt, pos+3); err != nil {
			return nil, nil, nil, fmt.Errorf("codec: HEVC record array: %w", err)
		}
		switch h265.NALUType(typ) {
		case h265.NALUType_VPS_NUT:
			vps = append(vps, nalus...)
		case h265.NALUType_SPS_NUT:
			sps = append(sps, nalus...)
		case h265.NALUType_PPS_NUT:
			pps = append(pps, nalus...)
		}
	}
	if len(sps) == 0 {
		return nil, nil, nil, errors.New("codec: HEVC record has no SPS")
	}
	return vps, sps, pps, nil
}

// BuildHEVCRecord makes an HEVCDecoderConfigurationRecord (ISO/IEC
// 14496-15 8.3.3.1) with 4-byte NAL lengths from parameter sets. The
// profile, tier and level are copied from the first SPS's
// profile_tier_level, which starts byte-aligned after its first two bytes.
func BuildHEVCRecord(vps, sps, pps [][]byte) ([]byte, error) {
	if len(vps) == 0 || len(sps) == 0 || len(pps) == 0 || hasEmpty(vps) || hasEmpty(sps) || hasEmpty(pps) {
		return nil, errors.New("codec: HEVC record needs a VPS, an SPS and a PPS")
	}
	var s h265.SPS
	if err := s.Unmarshal(sps[0]); err != nil {
		return nil, fmt.Errorf("codec: H.265 SPS: %w", err)
	}
	rbsp := h264.EmulationPreventionRemove(sps[0])
	if len(rbsp) < 15 {
		return nil, fmt.Errorf("codec: H.265 SPS: %w", ErrShort)
	}
	b := make([]byte, 0, 64)
	b = append(b, 1)
	b = append(b, rbsp[3:15]...) // profile space, tier, profile, compatibility, constraints, level
	b = append(b,
		0xf0, 0x00, // min_spatial_segmentation_idc 0
		0xfc,                           // parallelismType 0
		0xfc|byte(s.ChromaFormatIdc&3), // chroma_format_idc
		0xf8|byte(s.BitDepthLumaMinus8&7), 0xf8|byte(s.BitDepthChromaMinus8&7),
		0, 0, // avgFrameRate unknown
		byte((s.MaxSubLayersMinus1+1)&7)<<3|boolBit(s.TemporalIDNestingFlag)<<2|3, // numTemporalLayers, 4-byte lengths
		3) // arrays: VPS, SPS, PPS
	for _, a := range []struct {
		typ   h265.NALUType
		nalus [][]byte
	}{{h265.NALUType_VPS_NUT, vps}, {h265.NALUType_SPS_NUT, sps}, {h265.NALUType_PPS_NUT, pps}} {
		b = append(b, 0x80|byte(a.typ)) // array_completeness
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.nalus)))
		for _, n := range a.nalus {
			if len(n) > 0xffff {
				return nil, errors.New("codec: HEVC parameter set is too long")
			}
			b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
			b = append(b, n...)
		}
	}
	return b, nil
}

func hasEmpty(nalus [][]byte) bool {
	for _, n := range nalus {
		if len(n) == 0 {
			return true
		}
	}
	return false
}

func boolBit(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// H265Config describes an H.265 stream from its configuration record.
func H265Config(record []byte) (*engine.CodecConfig, error) {
	_, spss, _, err := HEVCParams(record)
	if err != nil {
		return nil, err
	}
	var sps h265.SPS
	if err := sps.Unmarshal(spss[0]); err != nil {
		return nil, fmt.Errorf("codec: H.265 SPS: %w", err)
	}
	profile := "Main"
	if sps.ProfileTierLevel.GeneralProfileIdc == 2 {
		profile = "Main 10"
	}
	return &engine.CodecConfig{
		Codec: engine.CodecH265, Record: record,
		Width: sps.Width(), Height: sps.Height(), Profile: profile,
	}, nil
}

// AACConfig describes an AAC stream from its AudioSpecificConfig.
func AACConfig(asc []byte) (*engine.CodecConfig, error) {
	var c mpeg4audio.AudioSpecificConfig
	if err := c.Unmarshal(asc); err != nil {
		return nil, fmt.Errorf("codec: AAC AudioSpecificConfig: %w", err)
	}
	cfg := &engine.CodecConfig{
		Codec: engine.CodecAAC, Record: asc,
		SampleRate: c.SampleRate, Channels: c.ChannelCount,
		Profile: aacProfile(c.Type),
	}
	// HE-AAC signals SBR (and PS) as an extension of an AAC-LC core that
	// runs at half the output rate; listeners hear the extension's rate,
	// and PS turns a mono core into stereo.
	if c.ExtensionType == mpeg4audio.ObjectTypeSBR || c.ExtensionType == mpeg4audio.ObjectTypePS {
		cfg.Profile = aacProfile(c.ExtensionType)
		if c.ExtensionSampleRate > 0 {
			cfg.SampleRate = c.ExtensionSampleRate
		}
		if c.ExtensionType == mpeg4audio.ObjectTypePS {
			cfg.Channels = 2
		}
	}
	return cfg, nil
}

func aacProfile(t mpeg4audio.ObjectType) string {
	switch t {
	case mpeg4audio.ObjectTypeAACLC:
		return "LC"
	case mpeg4audio.ObjectTypeSBR:
		return "HE"
	case mpeg4audio.ObjectTypePS:
		return "HEv2"
	}
	return fmt.Sprintf("object type %d", t)
}

// NALUnits splits a video packet's payload (4-byte length-prefixed NAL
// units, for H.264 and H.265 alike) and, for a keyframe, puts params (the
// parameter sets) first, so that a decoder joining there can start.
func NALUnits(p *engine.Packet, params [][]byte) ([][]byte, error) {
	var au h264.AVCC
	if err := au.Unmarshal(p.Payload); err != nil {
		return nil, fmt.Errorf("codec: video access unit: %w", err)
	}
	if p.Keyframe && len(params) > 0 {
		au = append(append(make([][]byte, 0, len(params)+len(au)), params...), au...)
	}
	return au, nil
}

// InBandConfig returns the configuration that the parameter sets inside a
// video access unit au (4-byte length-prefixed NAL units) make of cfg: an
// encoder that changes resolution mid-stream, or a stream copied from
// MPEG-TS, sends new SPS and PPS in its keyframe rather than a new sequence
// header. It returns nil when au carries none, the ones cfg has, or ones
// that make no valid configuration (the stream then keeps cfg, as before).
func InBandConfig(cfg *engine.CodecConfig, au []byte) *engine.CodecConfig {
	if cfg == nil || !cfg.Codec.IsVideo() {
		return nil
	}
	var found [3][]byte // H.264: SPS, PPS; H.265: VPS, SPS, PPS
	seen := false
	for len(au) >= 4 {
		n := binary.BigEndian.Uint32(au)
		au = au[4:]
		if n == 0 || uint64(n) > uint64(len(au)) {
			break // the rest cannot be split: use what came before
		}
		nal := au[:n]
		au = au[n:]
		if i := ParamSlot(cfg.Codec, nal); i >= 0 && found[i] == nil {
			found[i], seen = nal, true
		}
	}
	if !seen {
		return nil
	}
	var cur [3][]byte
	if cfg.Codec == engine.CodecH264 {
		if r, err := ParseAVCRecord(cfg.Record); err == nil {
			cur[0], cur[1] = first(r.SPS), first(r.PPS)
		}
	} else if vps, sps, pps, err := HEVCParams(cfg.Record); err == nil {
		cur = [3][]byte{first(vps), first(sps), first(pps)}
	}
	same := true
	for i, p := range found {
		if p == nil {
			found[i] = cur[i]
		} else if !bytes.Equal(p, cur[i]) {
			same = false
		}
	}
	if same {
		return nil
	}
	var (
		next *engine.CodecConfig
		rec  []byte
		err  error
	)
	if cfg.Codec == engine.CodecH264 {
		if rec, err = BuildAVCRecord(found[:1], found[1:2]); err == nil {
			next, err = H264Config(rec)
		}
	} else if rec, err = BuildHEVCRecord(found[:1], found[1:2], found[2:3]); err == nil {
		next, err = H265Config(rec)
	}
	if err != nil || next.Width <= 0 || next.Height <= 0 {
		return nil // a garbled SPS can parse to an empty picture
	}
	return next
}

// ParamSlot is where a parameter set goes in a configuration's list (SPS
// and PPS for H.264; VPS, SPS and PPS for H.265), or -1 for other NAL
// units. nal must not be empty.
func ParamSlot(c engine.Codec, nal []byte) int {
	if c == engine.CodecH264 {
		switch h264.NALUType(nal[0] & 0x1f) {
		case h264.NALUTypeSPS:
			return 0
		case h264.NALUTypePPS:
			return 1
		}
		return -1
	}
	switch h265.NALUType((nal[0] >> 1) & 0x3f) {
	case h265.NALUType_VPS_NUT:
		return 0
	case h265.NALUType_SPS_NUT:
		return 1
	case h265.NALUType_PPS_NUT:
		return 2
	}
	return -1
}

func first(nalus [][]byte) []byte {
	if len(nalus) == 0 {
		return nil
	}
	return nalus[0]
}
