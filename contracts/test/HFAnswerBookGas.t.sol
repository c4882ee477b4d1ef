// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {HFAnswerBook} from "../src/HFAnswerBook.sol";
import {HFCallbackConsumer} from "../src/HFCallbackConsumer.sol";
import {HFInference} from "../src/HFInference.sol";
import {HFSubscriptionConsumer} from "../src/HFSubscriptionConsumer.sol";
import {HFOutput} from "../testkit/HFOutput.sol";
import {InfernetTest} from "../testkit/InfernetTest.sol";

/// @title HFAnswerBookGasConstants
/// @notice The service's on-chain answer bounds (docs/service.md) and the stack's gas cap.
abstract contract HFAnswerBookGasConstants {
    /// @notice `HF_INF_MAX_ONCHAIN_LABELS`' default: labels kept per on-chain answer.
    uint256 internal constant MAX_ONCHAIN_LABELS = 8;

    /// @notice `HF_INF_MAX_ONCHAIN_LABEL_BYTES`' default: UTF-8 bytes kept per label.
    uint256 internal constant MAX_ONCHAIN_LABEL_BYTES = 64;

    /// @notice `HF_INF_MAX_ONCHAIN_TEXT_BYTES`' default: UTF-8 bytes kept of a text answer.
    uint256 internal constant MAX_ONCHAIN_TEXT_BYTES = 1024;

    /// @notice The local stack's node `max_gas_limit` (hf_infernet_stack.devnode; Ritual's node
    ///         example config uses the same cap).
    uint256 internal constant STACK_MAX_GAS_LIMIT = 4_000_000;

    /// @notice The worst-case delivery must fit this many times under the cap.
    uint256 internal constant HEADROOM = 2;

    /// @notice Intrinsic gas of any transaction (yellow paper G_transaction).
    uint256 internal constant TX_BASE_GAS = 21_000;

    /// @notice Calldata gas per zero and non-zero byte (EIP-2028).
    uint256 internal constant ZERO_BYTE_GAS = 4;
    uint256 internal constant NONZERO_BYTE_GAS = 16;

    /// @notice Snapshot group (contracts/test/snapshots/HFAnswerBook.json).
    string internal constant GROUP = "HFAnswerBook";

    /// @notice A three-byte UTF-8 character ("€", E2 82 AC): every byte non-zero and a cut
    ///         inside it is what the service's UTF-8 boundary rule avoids.
    string internal constant EURO = unicode"€";

    /// @notice Label counts whose gas difference gives the cost of one more label.
    uint256 internal constant FEW_LABELS = 16;
    uint256 internal constant MANY_LABELS = 100;

    /// @notice Budget per short label once packed (measured: about 10,000).
    uint256 internal constant MAX_GAS_PER_SHORT_LABEL = 15_000;

    /// @notice One distinct ASCII byte per worst-case label, completing its 64 bytes.
    string internal constant TAILS = "ABCDEFGHIJKLMNOP";

    /// @notice A typical classification label ("POSITIVE" fits one storage word).
    string internal constant SHORT_LABEL = "POSITIVE";
}

/// @title HFAnswerBookGasTest
/// @notice Gas of one whole `deliverCompute` transaction per task and answer size, through the
///         real Coordinator into HFAnswerBook consumers (kept in contracts/test/snapshots/), and
///         the proof that the largest answer the service's on-chain bounds allow fits the stack's
///         `max_gas_limit` with 2x headroom.
/// @dev Measured as the node's transaction costs it: every touched account is cooled first
///      (`vm.cool`, as at the start of a transaction), execution is read from `gasleft()`, and the
///      intrinsic gas of the calldata is added (refunds ignored: a gas limit must cover them).
contract HFAnswerBookGasTest is InfernetTest, HFAnswerBookGasConstants {
    HFCallbackConsumer internal CALLBACK;
    HFSubscriptionConsumer internal RECURRING;

    /// @notice The input every request here carries (the node echoes it back in `input`).
    string internal constant PROMPT = "Ada Lovelace met Charles Babbage in London.";

    function setUp() public override {
        super.setUp();
        CALLBACK = HFCallbackConsumer(
            deployCode(
                "HFCallbackConsumer.sol:HFCallbackConsumer",
                abi.encode(address(REGISTRY), HF_CONTAINER_ID, address(0), registeredNodes())
            )
        );
        RECURRING = HFSubscriptionConsumer(
            deployCode(
                "HFSubscriptionConsumer.sol:HFSubscriptionConsumer",
                abi.encode(address(REGISTRY), HF_CONTAINER_ID, registeredNodes())
            )
        );
    }

    /*//////////////////////////////////////////////////////////////
                              SNAPSHOTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Text generation: a sentence, and the longest text the bound allows.
    function test_gas_textGeneration() public {
        _callback("callback text generation 32 B", HFInference.TEXT_GENERATION, _text(32));
        _callback("callback text generation 1 KiB", HFInference.TEXT_GENERATION, _text(1024));
    }

    /// @notice Summarization: the same encoding as text generation.
    function test_gas_summarization() public {
        _callback("callback summarization 1 KiB", HFInference.SUMMARIZATION, _text(1024));
    }

    /// @notice Text classification: the usual two labels, and ten.
    function test_gas_textClassification() public {
        _callback("callback text classification 2 labels", 2, _labels(2, SHORT_LABEL));
        _callback("callback text classification 10 labels", 2, _labels(10, SHORT_LABEL));
    }

    /// @notice Token classification: 16 and 100 entities (100 is over the service's bound, kept
    ///         to show the per-label cost), and each short label costs at most
    ///         MAX_GAS_PER_SHORT_LABEL (a storage string and a uint256 per label cost ~49,500).
    function test_gas_tokenClassification() public {
        uint256 few = _callback(
            "callback token classification 16 labels", 3, _labels(FEW_LABELS, SHORT_LABEL)
        );
        uint256 many = _callback(
            "callback token classification 100 labels", 3, _labels(MANY_LABELS, SHORT_LABEL)
        );
        assertLe((many - few) / (MANY_LABELS - FEW_LABELS), MAX_GAS_PER_SHORT_LABEL);
    }

    /*//////////////////////////////////////////////////////////////
                              WORST CASE
    //////////////////////////////////////////////////////////////*/

    /// @notice The longest text answer the bound allows (1024 bytes of 3-byte characters), into a
    ///         callback consumer, costs at most half the stack's gas cap.
    function test_worstCase_callbackTextFitsWithHeadroom() public {
        bytes memory output = _worstText();
        uint256 gas = _callback("worst case callback text", HFInference.TEXT_GENERATION, output);
        _assertHeadroom(gas);
        assertEq(CALLBACK.getAnswer(1, 1).text, _worstTextString());
    }

    /// @notice The largest label answer the bounds allow (8 labels of 64 bytes), into a callback
    ///         consumer, costs at most half the stack's gas cap.
    function test_worstCase_callbackLabelsFitsWithHeadroom() public {
        bytes memory output = _worstLabels();
        uint256 gas =
            _callback("worst case callback labels", HFInference.TOKEN_CLASSIFICATION, output);
        _assertHeadroom(gas);
        HFAnswerBook.HFAnswer memory answer = CALLBACK.getAnswer(1, 1);
        assertEq(answer.labels.length, MAX_ONCHAIN_LABELS);
        assertEq(bytes(answer.labels[MAX_ONCHAIN_LABELS - 1]).length, MAX_ONCHAIN_LABEL_BYTES);
    }

    /// @notice The same two worst cases into an eager recurring subscription.
    function test_worstCase_subscriptionFitsWithHeadroom() public {
        uint256 gas = _subscription("worst case subscription text", 4, false, _worstText());
        _assertHeadroom(gas);
        gas = _subscription("worst case subscription labels", 2, false, _worstLabels());
        _assertHeadroom(gas);
    }

    /// @notice A lazy subscription also stores the whole output in the Inbox before the consumer
    ///         reads it back: both worst cases still fit with headroom. (Lazily, one 64-byte label
    ///         costs about 135,000 gas: 16 of them would take 2.8 M, which is why the label bound
    ///         is 8.)
    function test_worstCase_lazySubscriptionFitsWithHeadroom() public {
        _assertHeadroom(_subscription("lazy subscription worst case text", 4, true, _worstText()));
        _assertHeadroom(
            _subscription("lazy subscription worst case labels", 2, true, _worstLabels())
        );
    }

    /// @notice Why the label bound is 8: twice as many 64-byte labels, lazily, fit under the cap
    ///         but not with the headroom.
    function test_gas_lazySubscriptionTwiceTheLabelBound() public {
        uint256 gas = _subscription(
            "lazy subscription 16 x 64 B labels", 2, true, _longLabels(2 * MAX_ONCHAIN_LABELS)
        );
        assertGt(gas, STACK_MAX_GAS_LIMIT / HEADROOM);
        assertLe(gas, STACK_MAX_GAS_LIMIT);
    }

    /*//////////////////////////////////////////////////////////////
                               HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @notice Requests `task` on CALLBACK, delivers `output` as NODE and returns the gas.
    function _callback(string memory name, uint8 task, bytes memory output)
        internal
        returns (uint256 gas)
    {
        uint32 id = CALLBACK.requestCompute(task, "", PROMPT, 1);
        gas = _measure(
            name, address(CALLBACK), id, 1, HFOutput.containerInput(task, "", PROMPT), output
        );
        assertEq(CALLBACK.answerCount(id, 1), 1, "answer not stored");
    }

    /// @notice Starts a one-interval subscription on RECURRING, delivers and returns the gas.
    function _subscription(string memory name, uint8 task, bool lazy, bytes memory output)
        internal
        returns (uint256 gas)
    {
        string[] memory inputs = HFOutput.one(PROMPT);
        uint32 id = RECURRING.startSubscription(task, "", inputs, 1, 0, 1, lazy);
        gas = _measure(
            name, address(RECURRING), id, 1, HFOutput.containerInput(task, "", PROMPT), output
        );
        assertEq(RECURRING.answerCount(id, 1), 1, "answer not stored");
    }

    /// @notice Gas of NODE's `deliverCompute` transaction as a node sends it, recorded under
    ///         `name` in the snapshot.
    function _measure(
        string memory name,
        address consumer,
        uint32 id,
        uint32 interval,
        bytes memory containerInput,
        bytes memory output
    ) internal returns (uint256 gas) {
        bytes memory call = abi.encodeCall(
            COORDINATOR.deliverCompute,
            (id, interval, HFOutput.deliveredInput(containerInput), output, "", NODE_WALLET)
        );
        // A transaction starts with every account and slot cold
        vm.cool(address(COORDINATOR));
        vm.cool(consumer);
        vm.cool(address(INBOX));
        vm.cool(NODE_WALLET);
        vm.prank(NODE);
        uint256 before = gasleft();
        (bool ok, bytes memory revertData) = address(COORDINATOR).call(call);
        uint256 execution = before - gasleft();
        assertTrue(ok, string(revertData));
        gas = execution + _intrinsicGas(call);
        vm.snapshotValue(GROUP, name, gas);
    }

    /// @notice Asserts that `gas` leaves HEADROOM times the stack's cap.
    function _assertHeadroom(uint256 gas) internal pure {
        assertLe(gas, STACK_MAX_GAS_LIMIT / HEADROOM, "worst-case delivery over half the gas cap");
    }

    /// @notice Intrinsic gas of a transaction carrying `data`.
    function _intrinsicGas(bytes memory data) internal pure returns (uint256 gas) {
        gas = TX_BASE_GAS;
        for (uint256 i = 0; i < data.length; i++) {
            gas += data[i] == 0 ? ZERO_BYTE_GAS : NONZERO_BYTE_GAS;
        }
    }

    /// @notice A delivered text answer of `size` ASCII bytes.
    function _text(uint256 size) internal pure returns (bytes memory) {
        return HFOutput.textGeneration(string(_filled(size, "a")));
    }

    /// @notice MAX_ONCHAIN_TEXT_BYTES of 3-byte characters, topped up with ASCII to the byte.
    function _worstTextString() internal pure returns (string memory) {
        return _utf8(MAX_ONCHAIN_TEXT_BYTES, "!");
    }

    /// @notice The worst-case text answer as the node delivers it.
    function _worstText() internal pure returns (bytes memory) {
        return HFOutput.textGeneration(_worstTextString());
    }

    /// @notice MAX_ONCHAIN_LABELS distinct labels of MAX_ONCHAIN_LABEL_BYTES each, as delivered.
    function _worstLabels() internal pure returns (bytes memory) {
        return _longLabels(MAX_ONCHAIN_LABELS);
    }

    /// @notice `count` (at most 16) distinct labels of MAX_ONCHAIN_LABEL_BYTES each, as delivered.
    function _longLabels(uint256 count) internal pure returns (bytes memory) {
        string[] memory labels = new string[](count);
        uint256[] memory scores = new uint256[](count);
        for (uint256 i = 0; i < count; i++) {
            labels[i] = _utf8(MAX_ONCHAIN_LABEL_BYTES, string(abi.encodePacked(bytes(TAILS)[i])));
            scores[i] = HFOutput.SCORE_SCALE - 1 - i;
        }
        return HFOutput.tokenClassification(labels, scores);
    }

    /// @notice `count` labels "<label><i>" with descending scores, as delivered.
    function _labels(uint256 count, string memory label) internal pure returns (bytes memory) {
        string[] memory labels = new string[](count);
        uint256[] memory scores = new uint256[](count);
        for (uint256 i = 0; i < count; i++) {
            labels[i] = string.concat(label, vm.toString(i));
            scores[i] = HFOutput.SCORE_SCALE - 1 - i;
        }
        return HFOutput.textClassification(labels, scores);
    }

    /// @notice `size` bytes of EURO characters, the remainder filled with `tail` (one byte).
    function _utf8(uint256 size, string memory tail) internal pure returns (string memory text) {
        uint256 width = bytes(EURO).length;
        for (uint256 i = 0; i < size / width; i++) {
            text = string.concat(text, EURO);
        }
        text = string.concat(text, string(_filled(size % width, tail)));
    }

    /// @notice `size` copies of the one-byte string `unit`.
    function _filled(uint256 size, string memory unit) internal pure returns (bytes memory out) {
        out = new bytes(size);
        for (uint256 i = 0; i < size; i++) {
            out[i] = bytes(unit)[0];
        }
    }
}
