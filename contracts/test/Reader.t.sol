// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {stdError} from "forge-std/StdError.sol";
import {Ownable} from "solady/auth/Ownable.sol";
import {Subscription} from "infernet-sdk/Coordinator.sol";
import {Inbox, InboxItem} from "infernet-sdk/Inbox.sol";
import {Coordinated} from "infernet-sdk/utility/Coordinated.sol";
import {ProtocolTest} from "./lib/ProtocolTest.sol";
import {MockSubscriptionConsumer} from "./mocks/consumer/MockSubscriptionConsumer.sol";

/// @title ReaderTest
/// @notice Reader batch views, plus the Inbox's and Fee's direct entry points.
contract ReaderTest is ProtocolTest {
    MockSubscriptionConsumer internal CONSUMER;

    function setUp() public override {
        super.setUp();
        CONSUMER = _deployMockSubscriptionConsumer(NO_SIGNER);
    }

    function _create(uint16 redundancy) internal returns (uint32) {
        return CONSUMER.createMockSubscription(
            MOCK_CONTAINER_ID,
            ONE_TIME,
            ONE_SHOT_PERIOD,
            redundancy,
            EAGER,
            NO_PAYMENT_TOKEN,
            NO_PAYMENT,
            NO_WALLET,
            NO_VERIFIER
        );
    }

    /// @notice [startId, endId) is read in order; unknown ids give zero structs.
    function test_readSubscriptionBatch_readsRange() public {
        _create(1);
        _create(2);
        Subscription[] memory batch = READER.readSubscriptionBatch(1, 4);
        assertEq(batch.length, 3);
        assertEq(batch[0].redundancy, 1);
        assertEq(batch[1].redundancy, 2);
        assertEq(batch[2].owner, address(0));
        assertEq(READER.readSubscriptionBatch(2, 2).length, 0);
    }

    /// @notice endId < startId underflows (checked arithmetic).
    function test_readSubscriptionBatch_revertsOnReversedRange() public {
        vm.expectRevert(stdError.arithmeticError);
        READER.readSubscriptionBatch(3, 1);
    }

    /// @notice Redundancy counts per (id, interval); 0 when nothing was delivered.
    function test_readRedundancyCountBatch_readsCounts() public {
        uint32 id = _create(2);
        vm.prank(ALICE);
        COORDINATOR.deliverCompute(id, 1, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(NO_WALLET));
        uint32[] memory ids = new uint32[](2);
        ids[0] = id;
        ids[1] = id;
        uint32[] memory intervals = new uint32[](2);
        intervals[0] = 1;
        intervals[1] = 2;
        uint16[] memory counts = READER.readRedundancyCountBatch(ids, intervals);
        assertEq(counts[0], 1);
        assertEq(counts[1], 0);
    }

    /// @notice Anyone may write to the Inbox under their own address, outside any subscription.
    function test_inboxWrite_storesUnderCaller() public {
        vm.expectEmit(address(INBOX));
        emit Inbox.NewInboxItem(HASHED_MOCK_CONTAINER_ID, ALICE, 0);
        vm.prank(ALICE);
        assertEq(INBOX.write(HASHED_MOCK_CONTAINER_ID, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF), 0);

        InboxItem memory item = INBOX.read(HASHED_MOCK_CONTAINER_ID, ALICE, 0);
        assertEq(item.subscriptionId, 0);
        assertEq(item.interval, 0);
        assertEq(item.output, MOCK_OUTPUT);
        (uint32 timestamp,,,,,) = INBOX.items(HASHED_MOCK_CONTAINER_ID, ALICE, 0);
        assertEq(timestamp, uint32(block.timestamp));

        vm.expectRevert(Coordinated.NotCoordinator.selector);
        INBOX.writeViaCoordinator(
            HASHED_MOCK_CONTAINER_ID, ALICE, 1, 1, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF
        );
    }

    /// @notice The Fee owner is the recipient and the only one who may change the fee.
    function test_fee_ownerUpdatesFee() public {
        assertEq(FEE.FEE_RECIPIENT(), PROTOCOL);
        vm.expectRevert(Ownable.Unauthorized.selector);
        FEE.updateFee(1);
        vm.prank(PROTOCOL);
        FEE.updateFee(250);
        assertEq(FEE.FEE(), 250);
    }
}
