// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Ownable} from "solady/auth/Ownable.sol";
import {Coordinator, Subscription} from "infernet-sdk/Coordinator.sol";
import {BaseConsumer} from "infernet-sdk/consumer/Base.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {HFAnswerBook} from "../src/HFAnswerBook.sol";
import {HFCallbackConsumer} from "../src/HFCallbackConsumer.sol";
import {HFInference} from "../src/HFInference.sol";
import {HFNodeAllowlist} from "../src/HFNodeAllowlist.sol";
import {HFConsumerTest} from "./lib/HFConsumerTest.sol";

/// @title HFCallbackConsumerTest
/// @notice Requests through HFCallbackConsumer, answered by test nodes.
contract HFCallbackConsumerTest is HFConsumerTest {
    HFCallbackConsumer internal CONSUMER;
    address internal immutable SIGNER = makeAddr("signer");

    function setUp() public override {
        super.setUp();
        CONSUMER = HFCallbackConsumer(
            deployCode(
                "HFCallbackConsumer.sol:HFCallbackConsumer",
                abi.encode(address(REGISTRY), CONTAINER_ID, SIGNER, _allowedNodes())
            )
        );
    }

    /// @notice A request creates a one-shot eager subscription for the service and serves its input.
    function test_requestCompute_createsSubscriptionAndServesInput() public {
        vm.expectEmit(address(CONSUMER));
        emit HFCallbackConsumer.ComputeRequested(
            1, address(this), TEXT_CLASSIFICATION, "model", "I love it", 1
        );
        uint32 id = CONSUMER.requestCompute(TEXT_CLASSIFICATION, "model", "I love it", 1);

        Subscription memory sub = COORDINATOR.getSubscription(id);
        assertEq(sub.owner, address(CONSUMER));
        assertEq(sub.containerId, keccak256(abi.encode(CONTAINER_ID)));
        assertEq(sub.frequency, 1);
        assertEq(sub.period, 0);
        assertFalse(sub.lazy);
        assertEq(
            CONSUMER.getContainerInputs(id, 1, 0, ALICE),
            abi.encode(TEXT_CLASSIFICATION, "model", "I love it")
        );
        assertEq(CONSUMER.getRequest(id).input, "I love it");
        assertEq(CONSUMER.serviceContainerId(), CONTAINER_ID);
    }

    /// @notice A text answer is decoded, stored under (id, 1) and announced.
    function test_receiveCompute_recordsTextAnswer() public {
        uint32 id = CONSUMER.requestCompute(TEXT_GENERATION, "", "Once upon", 1);

        vm.expectEmit(address(CONSUMER));
        emit HFAnswerBook.AnswerReceived(
            id, 1, ALICE, TEXT_GENERATION, "a time", new string[](0), new uint256[](0)
        );
        _deliverOutput(ALICE, id, 1, _textOutput("a time"));

        assertTrue(CONSUMER.hasAnswer(id, 1));
        HFAnswerBook.HFAnswer memory answer = CONSUMER.getAnswer(id, 1);
        assertEq(answer.task, TEXT_GENERATION);
        assertEq(answer.node, ALICE);
        assertEq(answer.redundancy, 1);
        assertEq(answer.text, "a time");
        assertEq(answer.labels.length, 0);
    }

    /// @notice A classification answer keeps labels and scores in order.
    function test_receiveCompute_recordsLabelsAndScores() public {
        uint32 id = CONSUMER.requestCompute(TEXT_CLASSIFICATION, "", "great", 1);
        _deliverOutput(ALICE, id, 1, _sentimentOutput());

        HFAnswerBook.HFAnswer memory answer = CONSUMER.getAnswer(id, 1);
        assertEq(answer.labels[0], "POSITIVE");
        assertEq(answer.labels[1], "NEGATIVE");
        assertEq(answer.scores[0], 999_800);
        assertEq(answer.scores[1], 200);
        assertEq(answer.text, "");
    }

    /// @notice With redundancy 2 both nodes' answers are kept in delivery order.
    function test_receiveCompute_keepsEveryRedundantAnswer() public {
        uint32 id = CONSUMER.requestCompute(SUMMARIZATION, "", "long text", 2);
        _deliverOutput(ALICE, id, 1, _textOutput("short"));
        _deliverOutput(BOB, id, 1, _textOutput("brief"));

        assertEq(CONSUMER.answerCount(id, 1), 2);
        HFAnswerBook.HFAnswer[] memory answers = CONSUMER.getAnswers(id, 1);
        assertEq(answers[0].text, "short");
        assertEq(answers[1].node, BOB);
        assertEq(answers[1].redundancy, 2);
        assertEq(CONSUMER.getAnswerAt(id, 1, 1).text, "brief");
    }

    /// @notice Outputs that do not decode for the task are recorded as malformed, not reverted.
    function test_receiveCompute_recordsMalformedOutput() public {
        uint32 id = CONSUMER.requestCompute(TEXT_GENERATION, "", "x", 2);

        vm.expectEmit(address(CONSUMER));
        emit HFAnswerBook.MalformedDeliveryRecorded(id, 1, ALICE, TEXT_GENERATION, 1);
        _deliverOutput(ALICE, id, 1, _fallbackOutput());
        _deliverOutput(BOB, id, 1, _sentimentOutput());

        assertFalse(CONSUMER.hasAnswer(id, 1));
        assertEq(CONSUMER.malformedCount(id, 1), 2);
        HFAnswerBook.HFMalformedDelivery[] memory malformed = CONSUMER.getMalformed(id, 1);
        assertEq(malformed[0].node, ALICE);
        assertEq(malformed[1].node, BOB);
        assertEq(malformed[1].redundancy, 2);
    }

    /// @notice The node's placeholder simulation (empty input, 32 zero bytes, empty proof) succeeds
    ///         and leaves nothing behind; mined, it is recorded as malformed.
    function test_receiveCompute_placeholderSucceeds() public {
        uint32 id = CONSUMER.requestCompute(SUMMARIZATION, "", "x", 1);
        bytes memory placeholder = new bytes(32);

        uint256 snapshot = vm.snapshotState();
        vm.prank(ALICE);
        (bool simulated,) = address(COORDINATOR)
            .call(
                abi.encodeCall(
                    COORDINATOR.deliverCompute, (id, 1, "", placeholder, "", payable(NO_WALLET))
                )
            );
        assertTrue(simulated);
        vm.revertToState(snapshot);
        assertEq(CONSUMER.malformedCount(id, 1), 0);

        vm.prank(ALICE);
        COORDINATOR.deliverCompute(id, 1, "", placeholder, "", payable(NO_WALLET));
        assertEq(CONSUMER.malformedCount(id, 1), 1);
        assertFalse(CONSUMER.hasAnswer(id, 1));
    }

    /// @notice Arbitrary bytes never make a delivery revert; well-formed ones are still answers.
    function testFuzz_receiveCompute_neverReverts(bytes calldata output, uint8 task) public {
        task = uint8(bound(task, TEXT_GENERATION, SUMMARIZATION));
        uint32 id = CONSUMER.requestCompute(task, "", "x", 1);
        _deliverOutput(ALICE, id, 1, output);
        assertEq(CONSUMER.answerCount(id, 1) + CONSUMER.malformedCount(id, 1), 1);
    }

    /// @notice Reading a missing answer names the position.
    function test_getAnswer_revertsAnswerNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(HFAnswerBook.AnswerNotFound.selector, 9, 1, 0));
        CONSUMER.getAnswer(9, 1);
    }

    /// @notice Task 0, unknown tasks and redundancy 0 are rejected before reaching the Coordinator.
    function test_requestCompute_rejectsInvalidRequests() public {
        vm.expectRevert(abi.encodeWithSelector(HFInference.UnsupportedTask.selector, 0));
        CONSUMER.requestCompute(0, "", "x", 1);
        vm.expectRevert(abi.encodeWithSelector(HFInference.UnsupportedTask.selector, 5));
        CONSUMER.requestCompute(5, "", "x", 1);
        vm.expectRevert(HFCallbackConsumer.ZeroRedundancy.selector);
        CONSUMER.requestCompute(TEXT_GENERATION, "", "x", 0);
        assertEq(COORDINATOR.id(), 1);
    }

    /// @notice Only the owner rotates the delegated signer.
    function test_updateSigner_onlyOwner() public {
        vm.expectRevert(Ownable.Unauthorized.selector);
        vm.prank(ALICE);
        CONSUMER.updateSigner(ALICE);
        CONSUMER.updateSigner(BOB);
        assertEq(CONSUMER.getSigner(), BOB);
    }

    /// @notice decodeOutput inverts the service encoding for any text (fuzzed).
    function testFuzz_decodeOutput_text(string calldata text, bool summarize) public view {
        uint8 task = summarize ? SUMMARIZATION : TEXT_GENERATION;
        (string memory decoded, string[] memory labels,) =
            CONSUMER.decodeOutput(task, _textOutput(text));
        assertEq(decoded, text);
        assertEq(labels.length, 0);
        (decoded,,) = CONSUMER.decodeOutput(HFInference.TASK_UNSET, _textOutput(text));
        assertEq(decoded, text);
    }

    /// @notice decodeOutput rejects labels and scores of different lengths.
    function test_decodeOutput_revertsLabelScoreMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(HFAnswerBook.LabelScoreMismatch.selector, 1, 0));
        CONSUMER.decodeOutput(TEXT_CLASSIFICATION, _labelsOutput(new string[](1), new uint256[](0)));
    }

    /// @notice Nothing but the Coordinator may deliver.
    function test_rawReceiveCompute_onlyCoordinator() public {
        vm.expectRevert(BaseConsumer.NotCoordinator.selector);
        vm.prank(ALICE);
        CONSUMER.rawReceiveCompute(1, 1, 1, ALICE, "", _textOutput("forged"), "", bytes32(0), 0);
    }

    /*//////////////////////////////////////////////////////////////
                            CHOSEN NODES
    //////////////////////////////////////////////////////////////*/

    /// @notice A stranger's placeholder and a stranger's well-formed answer are both refused, so
    ///         the request's only slot stays free for the allowed node, whose answer is stored.
    function test_receiveCompute_refusesStrangersKeepsTheSlot() public {
        uint32 id = CONSUMER.requestCompute(TEXT_GENERATION, "", "Once upon", 1);
        bytes[2] memory forged = [new bytes(32), _textOutput("a wrong answer")];

        for (uint256 i = 0; i < forged.length; i++) {
            vm.expectRevert(Allowlist.NodeNotAllowed.selector);
            _deliverOutput(STRANGER, id, 1, forged[i]);
        }
        _deliverOutput(ALICE, id, 1, _textOutput("a time"));

        assertEq(CONSUMER.getAnswer(id, 1).text, "a time");
        assertEq(CONSUMER.getAnswer(id, 1).node, ALICE);
        assertEq(CONSUMER.malformedCount(id, 1), 0);
        assertFalse(CONSUMER.isAllowedNode(STRANGER));
        assertTrue(CONSUMER.isAllowedNode(ALICE));
    }

    /// @notice The owner allows and disallows nodes; the change applies to the next delivery.
    function test_updateAllowlist_changesWhoMayDeliver() public {
        address[] memory nodes = new address[](2);
        nodes[0] = STRANGER;
        nodes[1] = ALICE;
        bool[] memory statuses = new bool[](2);
        statuses[0] = true;
        statuses[1] = false;

        vm.expectEmit(address(CONSUMER));
        emit HFNodeAllowlist.NodeAllowlistUpdated(STRANGER, true);
        vm.expectEmit(address(CONSUMER));
        emit HFNodeAllowlist.NodeAllowlistUpdated(ALICE, false);
        CONSUMER.updateAllowlist(nodes, statuses);

        uint32 id = CONSUMER.requestCompute(TEXT_GENERATION, "", "x", 2);
        vm.expectRevert(Allowlist.NodeNotAllowed.selector);
        _deliverOutput(ALICE, id, 1, _textOutput("alice"));
        _deliverOutput(STRANGER, id, 1, _textOutput("now allowed"));
        assertEq(CONSUMER.getAnswer(id, 1).node, STRANGER);
    }

    /// @notice Only the owner changes the allowlist, with one status per node.
    function test_updateAllowlist_onlyOwnerAndMatchingLengths() public {
        address[] memory nodes = new address[](1);
        nodes[0] = STRANGER;

        vm.expectRevert(Ownable.Unauthorized.selector);
        vm.prank(STRANGER);
        CONSUMER.updateAllowlist(nodes, new bool[](1));

        vm.expectRevert(
            abi.encodeWithSelector(HFNodeAllowlist.AllowlistLengthMismatch.selector, 1, 0)
        );
        CONSUMER.updateAllowlist(nodes, new bool[](0));
    }

    /// @notice A consumer no node could deliver to is refused at deployment.
    function test_constructor_rejectsAnEmptyAllowlist() public {
        bytes memory creation = abi.encodePacked(
            vm.getCode("HFCallbackConsumer.sol:HFCallbackConsumer"),
            abi.encode(address(REGISTRY), CONTAINER_ID, SIGNER, new address[](0))
        );
        vm.expectRevert(HFNodeAllowlist.NoAllowedNodes.selector);
        this.create(creation);
    }

    /// @notice CREATE with `creation`, bubbling the constructor's revert.
    function create(bytes memory creation) external returns (address created) {
        assembly ("memory-safe") {
            created := create(0, add(creation, 0x20), mload(creation))
            if iszero(created) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
    }

    /*//////////////////////////////////////////////////////////////
                               STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @notice Bodies on either side of the inline limit (64 bytes) and far above it read back
    ///         exactly, text and labels alike.
    function test_getAnswer_readsBackInlineAndDataContractBodies() public {
        uint256[4] memory sizes = [uint256(0), 64, 65, 5000];
        for (uint256 i = 0; i < sizes.length; i++) {
            string memory text = string(new bytes(sizes[i]));
            uint32 id = CONSUMER.requestCompute(TEXT_GENERATION, "", "x", 1);
            _deliverOutput(ALICE, id, 1, _textOutput(text));
            assertEq(CONSUMER.getAnswer(id, 1).text, text);

            string[] memory labels = new string[](2);
            labels[0] = text;
            labels[1] = "B-PER";
            uint256[] memory scores = new uint256[](2);
            scores[0] = sizes[i];
            scores[1] = 1;
            id = CONSUMER.requestCompute(TOKEN_CLASSIFICATION, "", "x", 1);
            _deliverOutput(ALICE, id, 1, _labelsOutput(labels, scores));
            HFAnswerBook.HFAnswer memory answer = CONSUMER.getAnswer(id, 1);
            assertEq(answer.labels, labels);
            assertEq(answer.scores, scores);
            assertEq(answer.text, "");
        }
    }

    /// @notice Any labels and scores a delivery carries are what getAnswer returns (fuzzed: scores
    ///         beyond 32 bits, empty labels, zero bytes).
    function testFuzz_getAnswer_returnsTheDeliveredLabels(
        string[] memory labels,
        uint256 seed,
        bool wideScores
    ) public {
        vm.assume(labels.length <= 24);
        uint256[] memory scores = new uint256[](labels.length);
        for (uint256 i = 0; i < labels.length; i++) {
            uint256 score = uint256(keccak256(abi.encode(seed, i)));
            scores[i] = wideScores ? score : score % (HFInference.SCORE_SCALE + 1);
        }
        uint32 id = CONSUMER.requestCompute(TEXT_CLASSIFICATION, "", "x", 1);
        _deliverOutput(ALICE, id, 1, _labelsOutput(labels, scores));

        HFAnswerBook.HFAnswer memory answer = CONSUMER.getAnswer(id, 1);
        assertEq(answer.labels, labels);
        assertEq(answer.scores, scores);
    }
}
