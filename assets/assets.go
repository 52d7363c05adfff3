// Package assets holds the files embedded in the Chalkcast binary: the
// share page, the stream list and the player scripts (mpegts.js and
// hls.js, copied from the npm registry at pinned versions by
// packaging/player/build.sh). Nothing is ever loaded from the internet.
package assets

import "embed"

// Translations holds the studio's strings in each language
// (translations/<lang>.json, keyed by the English text; zh_Hans is
// Simplified Chinese, named as Fyne names its own).
//
//go:embed translations/*.json
var Translations embed.FS

// FS holds watch.html, index.html and player/*.
//
//go:embed watch.html index.html player/*.js player/*.txt player/VERSIONS
var FS embed.FS
