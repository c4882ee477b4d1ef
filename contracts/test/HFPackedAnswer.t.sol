// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Test} from "forge-std/Test.sol";
import {HFPackedAnswer} from "../src/HFPackedAnswer.sol";

/// @title HFPackedAnswerTest
/// @notice The packed label form gives back exactly what was packed, in the bytes it promises.
contract HFPackedAnswerTest is Test {
    /// @notice Bytes per label besides its text with 4-byte scores (3 length + 4 score).
    uint256 internal constant SHORT_OVERHEAD = 7;

    /// @notice Scores times 1e6 pack in 4 bytes: 7 bytes per label besides its text.
    function test_pack_shortScoresTakeFourBytes() public pure {
        string[] memory labels = new string[](2);
        labels[0] = "POSITIVE";
        labels[1] = "NEGATIVE";
        uint256[] memory scores = new uint256[](2);
        scores[0] = 999_800;
        scores[1] = 200;

        (bool ok, bytes memory body, uint8 scoreBytes) = HFPackedAnswer.pack(labels, scores);

        assertTrue(ok);
        assertEq(scoreBytes, HFPackedAnswer.SHORT_SCORE_BYTES);
        assertEq(body.length, 2 * SHORT_OVERHEAD + 16);
        assertEq(body, hex"000008504f534954495645000f41780000084e45474154495645000000c8");
    }

    /// @notice Any labels and scores round-trip (fuzzed, wide scores included).
    function testFuzz_unpack_invertsPack(string[] memory labels, uint256 seed) public pure {
        uint256[] memory scores = new uint256[](labels.length);
        for (uint256 i = 0; i < labels.length; i++) {
            scores[i] = uint256(keccak256(abi.encode(seed, i))) >> (seed % 256);
        }

        (bool ok, bytes memory body, uint8 scoreBytes) = HFPackedAnswer.pack(labels, scores);
        (string[] memory unpackedLabels, uint256[] memory unpackedScores) =
            HFPackedAnswer.unpack(body, scoreBytes);

        assertTrue(ok);
        assertEq(unpackedLabels, labels);
        assertEq(unpackedScores, scores);
    }
}
