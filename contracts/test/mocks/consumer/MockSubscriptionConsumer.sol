// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {InboxItem} from "infernet-sdk/Inbox.sol";
import {SubscriptionConsumer} from "infernet-sdk/consumer/Subscription.sol";
import {Delegator} from "infernet-sdk/pattern/Delegator.sol";
import {MockDeliveryLog} from "./MockDeliveryLog.sol";

/// @title MockSubscriptionConsumer
/// @notice SubscriptionConsumer (and Delegator) exposing create/cancel, logging callbacks and
///         serving a fixed container input.
contract MockSubscriptionConsumer is SubscriptionConsumer, Delegator, MockDeliveryLog {
    /// @notice What `getContainerInputs` returns for every interval.
    bytes public constant CONTAINER_INPUTS = "CONTAINER_INPUTS";

    constructor(address registry, address signer)
        SubscriptionConsumer(registry)
        Delegator(signer)
    {}

    /// @notice Forwards to `_createComputeSubscription`.
    function createMockSubscription(
        string calldata containerId,
        uint32 frequency,
        uint32 period,
        uint16 redundancy,
        bool lazy,
        address paymentToken,
        uint256 paymentAmount,
        address wallet,
        address verifier
    ) external returns (uint32) {
        return _createComputeSubscription(
            containerId,
            frequency,
            period,
            redundancy,
            lazy,
            paymentToken,
            paymentAmount,
            wallet,
            verifier
        );
    }

    /// @notice Forwards to `_cancelComputeSubscription`.
    function cancelMockSubscription(uint32 subscriptionId) external {
        _cancelComputeSubscription(subscriptionId);
    }

    /// @notice Forwards to `_updateSigner`.
    function updateMockSigner(address newSigner) external {
        _updateSigner(newSigner);
    }

    /// @notice Reads an Inbox item.
    function readMockInbox(bytes32 containerId, address node, uint256 index)
        external
        view
        returns (InboxItem memory)
    {
        return INBOX.read(containerId, node, index);
    }

    function getContainerInputs(uint32, uint32, uint32, address)
        external
        pure
        override
        returns (bytes memory)
    {
        return CONTAINER_INPUTS;
    }

    function _receiveCompute(
        uint32 subscriptionId,
        uint32 interval,
        uint16 redundancy,
        address node,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof,
        bytes32 containerId,
        uint256 index
    ) internal override {
        _record(
            DeliveredOutput(
                subscriptionId, interval, redundancy, node, input, output, proof, containerId, index
            )
        );
    }
}
