// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {SSTORE2} from "solady/utils/SSTORE2.sol";
import {Inbox} from "infernet-sdk/Inbox.sol";
import {HFInference} from "./HFInference.sol";
import {HFPackedAnswer} from "./HFPackedAnswer.sol";

/// @title HFAnswerBook
/// @notice Decodes HF service deliveries and records them per (subscriptionId, interval), one entry
///         per delivering node, with an event carrying the decoded answer so off-chain readers can
///         use either logs or views.
/// @dev Consumers forward `_receiveCompute` to `_recordDelivery` with their `INBOX` and the task the
///      subscription asked for; task 0 means unknown (e.g. delegated subscriptions, whose request
///      never reaches the contract), and the output is then decoded by its shape (text vs labels).
///      Kept apart from BaseConsumer (hence the Inbox parameter) so it mixes into CallbackConsumer
///      and SubscriptionConsumer without override clashes: deriving from BaseConsumer here would
///      force HFCallbackConsumer to re-override `getContainerInputs`.
///      A delivery that does not decode for the task never reverts: it is recorded as malformed
///      (see `getMalformed`) and the transaction succeeds. Ritual's node simulates every delivery
///      with a placeholder output (32 zero bytes) before running the container; a consumer that
///      reverts on it makes the node log an error and retry the simulation for every job.
///      Storage: one word of header per answer, then the answer's body (the text's bytes, or the
///      labels and scores packed by HFPackedAnswer) either in storage when it is at most
///      INLINE_MAX_BYTES, or else as the code of a data contract (solady's SSTORE2): 200 gas per
///      byte of code against 20,000 per 32-byte storage word, for a fixed ~32,000 to create it.
///      Gas per task and answer size is in docs/contracts.md and contracts/test/snapshots/.
abstract contract HFAnswerBook {
    /*//////////////////////////////////////////////////////////////
                             PUBLIC STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice One decoded delivery.
    struct HFAnswer {
        /// @notice Task id the consumer asked for; 0 if unknown to the consumer.
        uint8 task;
        /// @notice Delivering node.
        address node;
        /// @notice Position of this delivery within its interval (1 = first).
        uint16 redundancy;
        /// @notice Generated text or summary (tasks 1 and 4), else "".
        string text;
        /// @notice Labels or entity groups (tasks 2 and 3), else empty.
        string[] labels;
        /// @notice Scores times HFInference.SCORE_SCALE, one per label.
        uint256[] scores;
    }

    /// @notice One delivery whose output did not decode for the task.
    struct HFMalformedDelivery {
        /// @notice Delivering node.
        address node;
        /// @notice Position of this delivery within its interval (1 = first).
        uint16 redundancy;
    }

    /*//////////////////////////////////////////////////////////////
                                STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice One answer as stored: slot 0 node|redundancy|task|scoreBytes, slot 1 pointer,
    ///         slot 2 (and following, for a body over 31 bytes) the inline body; an answer
    ///         writes either the pointer or the inline body, never both.
    struct StoredAnswer {
        /// @notice Delivering node.
        address node;
        /// @notice Position of this delivery within its interval (1 = first).
        uint16 redundancy;
        /// @notice Task id the consumer asked for; 0 if unknown to the consumer.
        uint8 task;
        /// @notice 0 for a text answer (body = the text), else the score width of a packed label
        ///         body (HFPackedAnswer).
        uint8 scoreBytes;
        /// @notice SSTORE2 data contract holding the body, or address(0) if the body is inline.
        address pointer;
        /// @notice The body when it is at most INLINE_MAX_BYTES long.
        bytes inlined;
    }

    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Bodies up to this size stay in storage (at most three words: the length word and
    ///         two data words, which cost less than creating a data contract).
    uint256 internal constant INLINE_MAX_BYTES = 64;

    /// @notice Largest body a data contract holds: EIP-170's 24,576-byte code limit minus the
    ///         STOP byte SSTORE2 puts first. A larger body (undeliverable under any usual gas
    ///         cap) is stored inline.
    uint256 internal constant POINTER_MAX_BYTES = 24_575;

    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice subscriptionId => interval => answers in delivery order.
    mapping(uint32 => mapping(uint32 => StoredAnswer[])) private answers;

    /// @notice subscriptionId => interval => malformed deliveries in delivery order.
    mapping(uint32 => mapping(uint32 => HFMalformedDelivery[])) private malformed;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted for every recorded delivery.
    event AnswerReceived(
        uint32 indexed subscriptionId,
        uint32 indexed interval,
        address indexed node,
        uint8 task,
        string text,
        string[] labels,
        uint256[] scores
    );

    /// @notice Emitted for every delivery whose output did not decode for the task (e.g. the
    ///         node's simulation placeholder, or its `abi.encode(string)` fallback for a container
    ///         reply without the five on-chain fields).
    event MalformedDeliveryRecorded(
        uint32 indexed subscriptionId,
        uint32 indexed interval,
        address indexed node,
        uint8 task,
        uint16 redundancy
    );

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by the answer getters if no answer exists at that position.
    error AnswerNotFound(uint32 subscriptionId, uint32 interval, uint256 position);

    /// @notice Thrown by `decodeOutput()` if the raw output's shape does not match the task.
    error UnexpectedOutputShape(uint8 task, uint256 headWord);

    /// @notice Thrown by `decodeOutput()` if labels and scores differ in length.
    error LabelScoreMismatch(uint256 labels, uint256 scores);

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Decodes and records one delivery, reading a lazy output back from the Inbox first;
    ///         an output that does not decode is recorded as malformed instead of reverting.
    /// @param inbox the consumer's Inbox (BaseConsumer's `INBOX`)
    /// @param subscriptionId subscription id
    /// @param interval delivery interval
    /// @param redundancy position of the delivery within its interval
    /// @param node delivering node
    /// @param task task the subscription asked for (0 = unknown, decode by shape)
    /// @param output eager delivery's `abi.encode(bytes raw, bytes processed)`; empty when lazy
    /// @param containerId Inbox containerId (lazy) or 0 (eager)
    /// @param index Inbox index (lazy) or 0 (eager)
    function _recordDelivery(
        Inbox inbox,
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        uint8 task,
        bytes calldata output,
        bytes32 containerId,
        uint256 index
    ) internal {
        bytes memory delivered = containerId == bytes32(0)
            ? output
            : inbox.read(containerId, node, index).output;
        (bool ok, string memory text, string[] memory labels, uint256[] memory scores) =
            HFInference.tryDecodeOutput(task, delivered);
        // Record, never revert: a reverting consumer fails the node's placeholder simulation
        if (!ok) {
            _recordMalformed(subscriptionId, interval, redundancy, node, task);
            return;
        }
        bytes memory body = bytes(text);
        uint8 scoreBytes = 0;
        if (labels.length > 0) {
            (ok, body, scoreBytes) = HFPackedAnswer.pack(labels, scores);
            if (!ok) {
                _recordMalformed(subscriptionId, interval, redundancy, node, task);
                return;
            }
        }
        StoredAnswer storage answer = answers[subscriptionId][interval].push();
        answer.node = node;
        answer.redundancy = redundancy;
        answer.task = task;
        answer.scoreBytes = scoreBytes;
        if (body.length <= INLINE_MAX_BYTES || body.length > POINTER_MAX_BYTES) {
            answer.inlined = body;
        } else {
            // Creates a data contract whose only code is a STOP byte and `body`: nothing to call
            answer.pointer = SSTORE2.write(body);
        }
        emit AnswerReceived(subscriptionId, interval, node, task, text, labels, scores);
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Records a delivery that is no answer for the task.
    function _recordMalformed(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        uint8 task
    ) private {
        malformed[subscriptionId][interval].push(
            HFMalformedDelivery({node: node, redundancy: redundancy})
        );
        emit MalformedDeliveryRecorded(subscriptionId, interval, node, task, redundancy);
    }

    /// @notice The answer `stored` holds, as the getters return it.
    function _answerOf(StoredAnswer storage stored) private view returns (HFAnswer memory answer) {
        answer.task = stored.task;
        answer.node = stored.node;
        answer.redundancy = stored.redundancy;
        address pointer = stored.pointer;
        bytes memory body = pointer == address(0) ? stored.inlined : SSTORE2.read(pointer);
        uint8 scoreBytes = stored.scoreBytes;
        if (scoreBytes == 0) {
            answer.text = string(body);
        } else {
            (answer.labels, answer.scores) = HFPackedAnswer.unpack(body, scoreBytes);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Decodes a delivered output (`abi.encode(bytes raw, bytes processed)`) for `task`;
    ///         task 0 decodes by shape. Pure; also handy off-chain through eth_call.
    /// @return text text for tasks 1 and 4 (else "")
    /// @return labels labels for tasks 2 and 3 (else empty)
    /// @return scores scores times 1e6 for tasks 2 and 3 (else empty)
    function decodeOutput(uint8 task, bytes calldata output)
        external
        pure
        returns (string memory text, string[] memory labels, uint256[] memory scores)
    {
        bytes memory raw = HFInference.rawOutput(output);
        uint256 head = HFInference.headWord(raw);
        bool isText = task == HFInference.TASK_UNSET
            ? head == HFInference.TEXT_OUTPUT_HEAD
            : HFInference.producesText(task);
        uint256 expectedHead =
            isText ? HFInference.TEXT_OUTPUT_HEAD : HFInference.LABELS_OUTPUT_HEAD;

        // Revert if the raw output is not the task's encoding
        if (head != expectedHead) {
            revert UnexpectedOutputShape(task, head);
        }
        if (isText) {
            return (HFInference.decodeText(raw), labels, scores);
        }
        (labels, scores) = HFInference.decodeLabels(raw);
        // Revert if a label has no score or a score no label
        if (labels.length != scores.length) {
            revert LabelScoreMismatch(labels.length, scores.length);
        }
    }

    /// @notice Number of answers recorded for (subscriptionId, interval).
    function answerCount(uint32 subscriptionId, uint32 interval) external view returns (uint256) {
        return answers[subscriptionId][interval].length;
    }

    /// @notice Whether at least one answer was recorded for (subscriptionId, interval).
    function hasAnswer(uint32 subscriptionId, uint32 interval) external view returns (bool) {
        return answers[subscriptionId][interval].length > 0;
    }

    /// @notice The first answer for (subscriptionId, interval). Callback requests use interval 1.
    function getAnswer(uint32 subscriptionId, uint32 interval)
        external
        view
        returns (HFAnswer memory)
    {
        return getAnswerAt(subscriptionId, interval, 0);
    }

    /// @notice The answer at `position` (0-based delivery order) for (subscriptionId, interval).
    function getAnswerAt(uint32 subscriptionId, uint32 interval, uint256 position)
        public
        view
        returns (HFAnswer memory)
    {
        StoredAnswer[] storage list = answers[subscriptionId][interval];
        // Revert if nothing was delivered at that position
        if (position >= list.length) {
            revert AnswerNotFound(subscriptionId, interval, position);
        }
        return _answerOf(list[position]);
    }

    /// @notice Every answer for (subscriptionId, interval), in delivery order.
    function getAnswers(uint32 subscriptionId, uint32 interval)
        external
        view
        returns (HFAnswer[] memory all)
    {
        StoredAnswer[] storage list = answers[subscriptionId][interval];
        all = new HFAnswer[](list.length);
        for (uint256 i = 0; i < list.length; i++) {
            all[i] = _answerOf(list[i]);
        }
    }

    /// @notice Number of malformed deliveries recorded for (subscriptionId, interval).
    function malformedCount(uint32 subscriptionId, uint32 interval)
        external
        view
        returns (uint256)
    {
        return malformed[subscriptionId][interval].length;
    }

    /// @notice Every malformed delivery for (subscriptionId, interval), in delivery order.
    function getMalformed(uint32 subscriptionId, uint32 interval)
        external
        view
        returns (HFMalformedDelivery[] memory)
    {
        return malformed[subscriptionId][interval];
    }
}
