// Package web holds what browsers load: the SDK relying parties embed
// (scanfree.js), the hosted login page's template and script, and (in
// web/demo) the demo relying party.
package web

import "embed"

// Assets are the embedded browser files: sdk/scanfree.js,
// hosted/qrconnect.html, hosted/qrconnect.js and hosted/passkey.js.
//
//go:embed sdk/scanfree.js hosted/qrconnect.html hosted/qrconnect.js hosted/passkey.js
var Assets embed.FS
