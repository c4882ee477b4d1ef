// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {SubscriptionConsumer} from "infernet-sdk/consumer/Subscription.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";

/// @title DailySentiment
/// @notice A recurring subscription: once per period, nodes classify the current headline with the
///         HF service's text classification and the top label and score of each interval is kept.
/// @dev Nodes read each interval's input from `getContainerInputs`. As in AskModel, an output that
///      does not decode is recorded, never reverted on (Ritual's node simulates with a placeholder),
///      and only the nodes chosen at deployment may deliver (infernet-sdk's Allowlist).
contract DailySentiment is SubscriptionConsumer, Allowlist {
    /// @notice The service's container id in the node's config.json.
    string public constant CONTAINER_ID = "hf_inference_client_service";

    /// @notice The service's task id for text classification.
    uint8 public constant TEXT_CLASSIFICATION = 2;

    /// @notice One interval's result: the label's slot(s), then score and node in one slot.
    struct Mood {
        /// @notice The top label (e.g. "POSITIVE").
        string label;
        /// @notice Its probability times 1e6 (at most 1e6; 96 bits pack it with the node).
        uint96 score;
        /// @notice The node that delivered it.
        address node;
    }

    /// @notice The owner, who may change the headline.
    address public immutable OWNER;

    /// @notice The text classified at each interval.
    string public headline;

    /// @notice subscriptionId => interval => result.
    mapping(uint32 => mapping(uint32 => Mood)) public moods;

    /// @notice subscriptionId => interval => deliveries that did not decode.
    mapping(uint32 => mapping(uint32 => uint256)) public malformedDeliveries;

    /// @notice Emitted for each interval's result.
    event MoodRecorded(
        uint32 indexed subscriptionId, uint32 indexed interval, string label, uint256 score
    );

    /// @notice Emitted when a delivery's output is not a classification.
    event MalformedDelivery(
        uint32 indexed subscriptionId, uint32 indexed interval, address indexed node
    );

    /// @notice Thrown by `follow` and `setHeadline` for callers other than the owner.
    error NotOwner();

    /// @param registry the Infernet Registry (0x663F3ad617193148711d28f5334eE4Ed07016602 locally)
    /// @param firstHeadline the text classified until `setHeadline` changes it
    /// @param nodes the nodes allowed to deliver (locally: anvil #1, the stack's node)
    constructor(address registry, string memory firstHeadline, address[] memory nodes)
        SubscriptionConsumer(registry)
        Allowlist(nodes)
    {
        OWNER = msg.sender;
        headline = firstHeadline;
    }

    /// @notice Starts a subscription of `days_` daily intervals; the first one begins in a day.
    /// @param days_ number of intervals
    /// @return subscriptionId the subscription id
    function follow(uint32 days_) external returns (uint32 subscriptionId) {
        // Revert if the caller is not the owner
        if (msg.sender != OWNER) {
            revert NotOwner();
        }
        return _createComputeSubscription(
            CONTAINER_ID,
            days_, // frequency: number of intervals
            1 days, // period: seconds per interval
            1, // redundancy: one node per interval
            false, // lazy: output delivered directly
            address(0), // paymentToken: unpaid
            0, // paymentAmount: unpaid
            address(0), // wallet: unpaid
            address(0) // verifier: none
        );
    }

    /// @notice Changes the text classified from the next delivery on.
    /// @param text the new headline
    function setHeadline(string calldata text) external {
        // Revert if the caller is not the owner
        if (msg.sender != OWNER) {
            revert NotOwner();
        }
        headline = text;
    }

    /// @notice The container input for every interval: classify the current headline.
    function getContainerInputs(uint32, uint32, uint32, address)
        external
        view
        override
        returns (bytes memory)
    {
        return abi.encode(TEXT_CLASSIFICATION, "", headline);
    }

    /// @notice Labels and scores (times 1e6) inside a delivered output; reverts if there are none.
    /// @param output the delivered `abi.encode(bytes rawOutput, bytes processedOutput)`
    function decodeMood(bytes calldata output)
        external
        pure
        returns (string[] memory labels, uint256[] memory scores)
    {
        (bytes memory rawOutput,) = abi.decode(output, (bytes, bytes));
        return abi.decode(rawOutput, (string[], uint256[]));
    }

    /// @notice Keeps the top label of the interval, or records a delivery that carried none.
    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16, /* redundancy */
        address node,
        bytes calldata, /* input */
        bytes calldata output,
        bytes calldata, /* proof */
        bytes32, /* containerId */
        uint256 /* index */
    ) internal override onlyAllowedNode(node) {
        try this.decodeMood(output) returns (string[] memory labels, uint256[] memory scores) {
            // An empty or lopsided classification, or a score no probability has, is no answer
            if (
                labels.length == 0 || labels.length != scores.length || scores[0] > type(uint96).max
            ) {
                _recordMalformed(subscriptionId, interval, node);
                return;
            }
            moods[subscriptionId][interval] =
                Mood({label: labels[0], score: uint96(scores[0]), node: node});
            emit MoodRecorded(subscriptionId, interval, labels[0], scores[0]);
        } catch {
            _recordMalformed(subscriptionId, interval, node);
        }
    }

    /// @notice Counts and announces a delivery that did not decode.
    function _recordMalformed(uint32 subscriptionId, uint32 interval, address node) internal {
        malformedDeliveries[subscriptionId][interval] += 1;
        emit MalformedDelivery(subscriptionId, interval, node);
    }
}
