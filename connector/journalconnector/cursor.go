// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package journalconnector

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
)

// A cursor file holds where a pipeline has read up to: segment and offset
// (8 bytes each) and their CRC-32C, little-endian. It is replaced by a
// rename after each delivery and not synced: a crash can take a pipeline
// back to an earlier cursor (records delivered again, never skipped), and a
// torn or missing file starts it at the oldest entry the journal holds.

const cursorSize = 20

func cursorPath(dir, pipeline string) string {
	return filepath.Join(dir, "cursor-"+strings.NewReplacer("/", "_", "\\", "_").Replace(pipeline))
}

func loadCursor(path string) (position, bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) != cursorSize {
		return position{}, false
	}
	if crc32.Checksum(b[:16], crcTable) != binary.LittleEndian.Uint32(b[16:]) {
		return position{}, false
	}
	return position{Segment: binary.LittleEndian.Uint64(b[:8]), Offset: int64(binary.LittleEndian.Uint64(b[8:16]))}, true
}

func saveCursor(path string, p position) error {
	var b [cursorSize]byte
	binary.LittleEndian.PutUint64(b[:8], p.Segment)
	binary.LittleEndian.PutUint64(b[8:16], uint64(p.Offset))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], crcTable))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b[:], 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
