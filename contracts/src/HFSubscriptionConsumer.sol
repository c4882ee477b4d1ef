// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {SubscriptionConsumer} from "infernet-sdk/consumer/Subscription.sol";
import {HFAnswerBook} from "./HFAnswerBook.sol";
import {HFInference} from "./HFInference.sol";
import {HFNodeAllowlist} from "./HFNodeAllowlist.sol";

/// @title HFSubscriptionConsumer
/// @notice Direct subscription flow: the owner starts (possibly recurring, possibly lazy)
///         subscriptions on the Coordinator; nodes read each interval's input from
///         `getContainerInputs` (the inputs cycle: interval k uses inputs[(k-1) % n]); every
///         interval's answers are recorded (read back from the Inbox when lazy). The owner can stop
///         a subscription at any time. Only the nodes on its allowlist (HFNodeAllowlist) may deliver.
contract HFSubscriptionConsumer is SubscriptionConsumer, HFAnswerBook, HFNodeAllowlist {
    /*//////////////////////////////////////////////////////////////
                             PUBLIC STRUCTS
    //////////////////////////////////////////////////////////////*/

    /// @notice What a subscription computes.
    struct HFSchedule {
        /// @notice Task id (1..4, see HFInference).
        uint8 task;
        /// @notice Model id ("" = the backend's default for the task).
        string model;
        /// @notice Inputs served in turn, one per interval.
        string[] inputs;
    }

    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Container id string the subscriptions go to.
    string public serviceContainerId;

    /// @notice Subscription id => schedule.
    mapping(uint32 => HFSchedule) private schedules;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when a subscription is started.
    event SubscriptionStarted(
        uint32 indexed subscriptionId,
        uint8 task,
        string model,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy
    );

    /// @notice Emitted when a subscription is stopped.
    event SubscriptionStopped(uint32 indexed subscriptionId);

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `startSubscription()` without inputs.
    error NoInputs();

    /// @notice Thrown by `startSubscription()` for frequency or redundancy 0, which the
    ///         Coordinator would accept but never deliver.
    error NeverDeliverable(uint32 frequency, uint16 redundancy);

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param registry Registry address (0x663F3ad617193148711d28f5334eE4Ed07016602 locally)
    /// @param containerId container id string ("hf_inference_client_service" in the local stack)
    /// @param allowedNodes nodes allowed to deliver (owner may change them with `updateAllowlist`)
    constructor(address registry, string memory containerId, address[] memory allowedNodes)
        SubscriptionConsumer(registry)
        HFNodeAllowlist(allowedNodes)
    {
        serviceContainerId = containerId;
    }

    /*//////////////////////////////////////////////////////////////
                           OVERRIDE FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Records the delivery under the schedule's task.
    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata, /* input */
        bytes calldata output,
        bytes calldata, /* proof */
        bytes32 containerId,
        uint256 index
    ) internal override onlyAllowedNode(node) {
        uint8 task = schedules[subscriptionId].task;
        _recordDelivery(
            INBOX, subscriptionId, interval, redundancy, node, task, output, containerId, index
        );
    }

    /// @notice Container input for `interval` of `subscriptionId`; empty for unknown ids.
    function getContainerInputs(uint32 subscriptionId, uint32 interval, uint32, address)
        external
        view
        override
        returns (bytes memory)
    {
        HFSchedule storage schedule = schedules[subscriptionId];
        if (schedule.inputs.length == 0) {
            return "";
        }
        return abi.encode(schedule.task, schedule.model, inputForInterval(subscriptionId, interval));
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Starts a subscription owned by this contract. The first interval begins one `period`
    ///         from now (immediately if period is 0).
    /// @param task task id (1..4)
    /// @param model model id ("" = default)
    /// @param inputs inputs served in turn, interval k gets inputs[(k-1) % inputs.length]
    /// @param frequency number of intervals (>= 1)
    /// @param period seconds per interval (0 = one-shot)
    /// @param redundancy nodes per interval (>= 1)
    /// @param lazy store outputs in the Inbox (the answer is read back from it on delivery)
    /// @return subscriptionId the Coordinator subscription id
    function startSubscription(
        uint8 task,
        string calldata model,
        string[] calldata inputs,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy
    ) external onlyOwner returns (uint32 subscriptionId) {
        // Revert if the service would reject the task
        if (!HFInference.isSupportedTask(task)) {
            revert HFInference.UnsupportedTask(task);
        }
        // Revert if there is nothing to serve
        if (inputs.length == 0) {
            revert NoInputs();
        }
        // Revert if no delivery could ever be accepted
        if (frequency == 0 || redundancy == 0) {
            revert NeverDeliverable(frequency, redundancy);
        }

        subscriptionId = _createComputeSubscription(
            serviceContainerId,
            frequency,
            period,
            redundancy,
            lazy,
            address(0), // paymentToken: unpaid
            0, // paymentAmount: unpaid
            address(0), // wallet: unpaid
            address(0) // verifier: none
        );
        HFSchedule storage schedule = schedules[subscriptionId];
        schedule.task = task;
        schedule.model = model;
        for (uint256 i = 0; i < inputs.length; i++) {
            schedule.inputs.push(inputs[i]);
        }
        emit SubscriptionStarted(subscriptionId, task, model, frequency, period, redundancy, lazy);
    }

    /// @notice Cancels a subscription; deliveries after this revert on the Coordinator.
    function stopSubscription(uint32 subscriptionId) external onlyOwner {
        _cancelComputeSubscription(subscriptionId);
        emit SubscriptionStopped(subscriptionId);
    }

    /// @notice The input text served for `interval` ("" for unknown ids).
    function inputForInterval(uint32 subscriptionId, uint32 interval)
        public
        view
        returns (string memory)
    {
        string[] storage inputs = schedules[subscriptionId].inputs;
        if (inputs.length == 0) {
            return "";
        }
        // Intervals are 1-based; interval 0 (never valid on the Coordinator) maps to the first input
        uint256 position = interval == 0 ? 0 : (uint256(interval) - 1) % inputs.length;
        return inputs[position];
    }

    /// @notice The schedule of `subscriptionId` (task 0 and no inputs if unknown).
    function getSchedule(uint32 subscriptionId) external view returns (HFSchedule memory) {
        return schedules[subscriptionId];
    }
}
