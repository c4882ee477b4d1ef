// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {DynamicBufferLib} from "solady/utils/DynamicBufferLib.sol";
import {LibBytes} from "solady/utils/LibBytes.sol";

/// @title HFPackedAnswer
/// @notice The compact byte form HFAnswerBook stores a label answer in: per label, its length
///         (uint24, big-endian), its bytes, and its score in `scoreBytes` big-endian bytes.
/// @dev The ABI form of `(string[], uint256[])` spends four 32-byte words on a short label (offset,
///      length, data, score); this form spends 3 + length + 4 bytes, so a typical label shares a
///      word with others. Scores are probabilities times 1e6, which fit 4 bytes; an answer with a
///      larger score keeps 32 bytes per score, so unpacking always gives back what was packed.
///      A label longer than 2^24 - 1 bytes cannot be delivered on any chain (its calldata alone
///      would cost over 67 M gas), so `pack` refuses it rather than truncating.
library HFPackedAnswer {
    using DynamicBufferLib for DynamicBufferLib.DynamicBuffer;

    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Score width when every score fits a uint32 (scores times 1e6 do).
    uint8 internal constant SHORT_SCORE_BYTES = 4;

    /// @notice Score width when some score does not fit a uint32.
    uint8 internal constant WORD_SCORE_BYTES = 32;

    /// @notice Bytes of the length before each label (uint24).
    uint256 internal constant LENGTH_BYTES = 3;

    /// @notice Largest label length the uint24 prefix holds.
    uint256 internal constant MAX_LABEL_BYTES = type(uint24).max;

    /// @notice Bits in a byte, to turn byte widths into shifts.
    uint256 private constant BYTE_BITS = 8;

    /// @notice Bits in an EVM word.
    uint256 private constant WORD_BITS = 256;

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Packs `labels` and their `scores` (same length, checked by the caller).
    /// @return ok false if a label is longer than MAX_LABEL_BYTES (nothing packed then)
    /// @return body the packed labels and scores
    /// @return scoreBytes the width of each score in `body`
    function pack(string[] memory labels, uint256[] memory scores)
        internal
        pure
        returns (bool ok, bytes memory body, uint8 scoreBytes)
    {
        scoreBytes = SHORT_SCORE_BYTES;
        uint256 size = 0;
        for (uint256 i = 0; i < labels.length; i++) {
            uint256 length = bytes(labels[i]).length;
            if (length > MAX_LABEL_BYTES) {
                return (false, body, 0);
            }
            if (scores[i] > type(uint32).max) {
                scoreBytes = WORD_SCORE_BYTES;
            }
            size += LENGTH_BYTES + length;
        }
        size += labels.length * scoreBytes;

        DynamicBufferLib.DynamicBuffer memory buffer;
        buffer.reserve(size);
        for (uint256 i = 0; i < labels.length; i++) {
            buffer.pUint24(uint24(bytes(labels[i]).length));
            buffer.p(bytes(labels[i]));
            if (scoreBytes == SHORT_SCORE_BYTES) {
                buffer.pUint32(uint32(scores[i]));
            } else {
                buffer.pUint256(scores[i]);
            }
        }
        return (true, buffer.data, scoreBytes);
    }

    /// @notice Inverse of `pack` for a `body` it produced with `scoreBytes`.
    function unpack(bytes memory body, uint8 scoreBytes)
        internal
        pure
        returns (string[] memory labels, uint256[] memory scores)
    {
        uint256 count = 0;
        for (uint256 at = 0; at < body.length; count++) {
            at += LENGTH_BYTES + _lengthAt(body, at) + scoreBytes;
        }
        labels = new string[](count);
        scores = new uint256[](count);
        uint256 cursor = 0;
        for (uint256 i = 0; i < count; i++) {
            uint256 length = _lengthAt(body, cursor);
            cursor += LENGTH_BYTES;
            labels[i] = string(LibBytes.slice(body, cursor, cursor + length));
            cursor += length;
            scores[i] = _uintAt(body, cursor, scoreBytes);
            cursor += scoreBytes;
        }
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The uint24 label length at byte `at` of `body`.
    function _lengthAt(bytes memory body, uint256 at) private pure returns (uint256) {
        return _uintAt(body, at, LENGTH_BYTES);
    }

    /// @notice The `width`-byte big-endian integer at byte `at` of `body`.
    function _uintAt(bytes memory body, uint256 at, uint256 width) private pure returns (uint256) {
        return uint256(LibBytes.load(body, at)) >> (WORD_BITS - width * BYTE_BITS);
    }
}
