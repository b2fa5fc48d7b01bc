package tpmkey

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// simulator speaks the command channel of the TCG reference
// implementation's TCP protocol (TPM_SEND_COMMAND), as swtpm --server
// type=tcp does. Unlike go-tpm's tcp transport it reads whole answers
// and gives every command a deadline: a simulator that stops answering
// (swtpm serves one connection at a time) is an error, not a hang.
type simulator struct{ c net.Conn }

const (
	simSendCommand = 8
	simTimeout     = 30 * time.Second
	simMaxResponse = 1 << 20
)

func dialSimulator(addr string) (*simulator, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &simulator{c: c}, nil
}

// Send implements transport.TPM.
func (s *simulator) Send(cmd []byte) ([]byte, error) {
	s.c.SetDeadline(time.Now().Add(simTimeout))
	msg := binary.BigEndian.AppendUint32(nil, simSendCommand)
	msg = append(msg, 0) // locality
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(cmd)))
	if _, err := s.c.Write(append(msg, cmd...)); err != nil {
		return nil, fmt.Errorf("TPM simulator: send: %w", err)
	}
	var n uint32
	if err := binary.Read(s.c, binary.BigEndian, &n); err != nil {
		return nil, fmt.Errorf("TPM simulator: read: %w", err)
	}
	if n == 0 || n > simMaxResponse {
		return nil, fmt.Errorf("TPM simulator: answer of %d bytes", n)
	}
	rsp := make([]byte, n)
	if _, err := io.ReadFull(s.c, rsp); err != nil {
		return nil, fmt.Errorf("TPM simulator: read: %w", err)
	}
	var ack uint32 // the protocol's own status after every answer
	if err := binary.Read(s.c, binary.BigEndian, &ack); err != nil {
		return nil, fmt.Errorf("TPM simulator: read: %w", err)
	}
	if ack != 0 {
		return nil, errors.New("TPM simulator: the command failed")
	}
	return rsp, nil
}

// Close implements transport.TPMCloser.
func (s *simulator) Close() error { return s.c.Close() }
