// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {ECDSA} from "solady/utils/ECDSA.sol";
import {Coordinator, Subscription} from "infernet-sdk/Coordinator.sol";
import {EIP712Coordinator} from "infernet-sdk/EIP712Coordinator.sol";
import {LibSign} from "../testkit/LibSign.sol";
import {ProtocolTest} from "./lib/ProtocolTest.sol";
import {MockSubscriptionConsumer} from "./mocks/consumer/MockSubscriptionConsumer.sol";

/// @title EIP712CoordinatorTest
/// @notice Delegated subscriptions signed by DELEGATEE (key 0xA11CE) for a Delegator consumer;
///         BACKUP (key 0xB0B) is the rotation target.
contract EIP712CoordinatorTest is ProtocolTest {
    uint256 internal constant DELEGATEE_KEY = 0xA11CE;
    uint256 internal constant BACKUP_KEY = 0xB0B;

    /// @notice Signature lifetime used by the tests.
    uint32 internal constant SIGNATURE_LIFETIME = 1 hours;

    address internal DELEGATEE;
    address internal BACKUP;
    MockSubscriptionConsumer internal CONSUMER;

    function setUp() public override {
        super.setUp();
        DELEGATEE = vm.addr(DELEGATEE_KEY);
        BACKUP = vm.addr(BACKUP_KEY);
        CONSUMER = _deployMockSubscriptionConsumer(DELEGATEE);
    }

    /// @notice A one-time eager subscription owned by the consumer, active now.
    function _sub() internal view returns (Subscription memory) {
        return Subscription({
            owner: address(CONSUMER),
            activeAt: uint32(block.timestamp),
            period: ONE_SHOT_PERIOD,
            frequency: ONE_TIME,
            redundancy: 2,
            containerId: HASHED_MOCK_CONTAINER_ID,
            lazy: EAGER,
            verifier: payable(NO_VERIFIER),
            paymentAmount: NO_PAYMENT,
            paymentToken: NO_PAYMENT_TOKEN,
            wallet: payable(NO_WALLET)
        });
    }

    function _sign(uint256 key, uint32 nonce, uint32 expiry, Subscription memory sub)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(key, LibSign.digest(address(COORDINATOR), nonce, expiry, sub));
    }

    function _create(uint256 key, uint32 nonce, Subscription memory sub) internal returns (uint32) {
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _sign(key, nonce, expiry, sub);
        return COORDINATOR.createSubscriptionDelegatee(nonce, expiry, sub, v, r, s);
    }

    /// @notice The domain is EIP-5267 readable with name "InfernetCoordinator" and version "1".
    function test_eip712Domain_namesInfernetCoordinator() public view {
        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifying,,
        ) = COORDINATOR.eip712Domain();
        assertEq(fields, hex"0f");
        assertEq(name, "InfernetCoordinator");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(COORDINATOR));
        assertEq(COORDINATOR.EIP712_NAME(), "InfernetCoordinator");
        assertEq(COORDINATOR.EIP712_VERSION(), "1");
    }

    /// @notice A valid signature stores the subscription verbatim and records the nonce.
    function test_createSubscriptionDelegatee_storesVerbatim() public {
        Subscription memory sub = _sub();
        sub.activeAt = uint32(block.timestamp) + 5 minutes;
        vm.expectEmit(address(COORDINATOR));
        emit Coordinator.SubscriptionCreated(1);
        uint32 id = _create(DELEGATEE_KEY, 7, sub);

        assertEq(id, 1);
        assertEq(keccak256(abi.encode(COORDINATOR.getSubscription(id))), keccak256(abi.encode(sub)));
        assertEq(
            COORDINATOR.delegateCreatedIds(keccak256(abi.encode(address(CONSUMER), uint32(7)))), id
        );
        assertEq(COORDINATOR.maxSubscriberNonce(address(CONSUMER)), 7);
    }

    /// @notice Signatures at or past expiry revert SignatureExpired.
    function test_createSubscriptionDelegatee_revertsSignatureExpired() public {
        Subscription memory sub = _sub();
        uint32 expiry = uint32(block.timestamp);
        (uint8 v, bytes32 r, bytes32 s) = _sign(DELEGATEE_KEY, 1, expiry, sub);
        vm.expectRevert(EIP712Coordinator.SignatureExpired.selector);
        COORDINATOR.createSubscriptionDelegatee(1, expiry, sub, v, r, s);
    }

    /// @notice A signature by anyone but the consumer's signer reverts SignerMismatch.
    function test_createSubscriptionDelegatee_revertsSignerMismatch() public {
        Subscription memory sub = _sub();
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _sign(BACKUP_KEY, 1, expiry, sub);
        vm.expectRevert(EIP712Coordinator.SignerMismatch.selector);
        COORDINATOR.createSubscriptionDelegatee(1, expiry, sub, v, r, s);

        // A tampered struct recovers to some other address
        (v, r, s) = _sign(DELEGATEE_KEY, 1, expiry, sub);
        sub.frequency = 100;
        vm.expectRevert(EIP712Coordinator.SignerMismatch.selector);
        COORDINATOR.createSubscriptionDelegatee(1, expiry, sub, v, r, s);
    }

    /// @notice An unrecoverable signature reverts Solady's InvalidSignature.
    function test_createSubscriptionDelegatee_revertsInvalidSignature() public {
        vm.expectRevert(ECDSA.InvalidSignature.selector);
        COORDINATOR.createSubscriptionDelegatee(
            1, uint32(block.timestamp) + SIGNATURE_LIFETIME, _sub(), 0, bytes32(0), bytes32(0)
        );
    }

    /// @notice Nonces are unordered; a used nonce returns its id with no expiry or signature check.
    function test_createSubscriptionDelegatee_acceptsUnorderedNoncesAndReplays() public {
        assertEq(_create(DELEGATEE_KEY, 10, _sub()), 1);
        assertEq(_create(DELEGATEE_KEY, 1, _sub()), 2);
        assertEq(COORDINATOR.maxSubscriberNonce(address(CONSUMER)), 10);

        vm.warp(block.timestamp + 365 days);
        assertEq(
            COORDINATOR.createSubscriptionDelegatee(10, 0, _sub(), 0, bytes32(0), bytes32(0)), 1
        );
        assertEq(COORDINATOR.id(), 3);
    }

    /// @notice After rotation only the new signer creates, and old nonces keep their ids.
    function test_createSubscriptionDelegatee_followsSignerRotation() public {
        uint32 id = _create(DELEGATEE_KEY, 1, _sub());
        CONSUMER.updateMockSigner(BACKUP);

        Subscription memory sub = _sub();
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _sign(DELEGATEE_KEY, 2, expiry, sub);
        vm.expectRevert(EIP712Coordinator.SignerMismatch.selector);
        COORDINATOR.createSubscriptionDelegatee(2, expiry, sub, v, r, s);

        assertEq(_create(BACKUP_KEY, 2, _sub()), id + 1);
        assertEq(_create(BACKUP_KEY, 1, _sub()), id);
    }

    /// @notice deliverComputeDelegatee creates and delivers atomically; a second node reuses the id.
    function test_deliverComputeDelegatee_createsAndDelivers() public {
        Subscription memory sub = _sub();
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _sign(DELEGATEE_KEY, 3, expiry, sub);

        vm.expectEmit(address(COORDINATOR));
        emit Coordinator.SubscriptionCreated(1);
        vm.expectEmit(address(COORDINATOR));
        emit Coordinator.SubscriptionFulfilled(1, ALICE);
        vm.prank(ALICE);
        COORDINATOR.deliverComputeDelegatee(
            3, expiry, sub, v, r, s, 1, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(NO_WALLET)
        );
        assertEq(CONSUMER.getDelivery(1, 1, 1).output, MOCK_OUTPUT);

        vm.prank(BOB);
        COORDINATOR.deliverComputeDelegatee(
            3, expiry, sub, v, r, s, 1, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(NO_WALLET)
        );
        assertEq(CONSUMER.getDelivery(1, 1, 2).node, BOB);
        assertEq(COORDINATOR.id(), 2);
    }

    /// @notice A failed delivery also undoes the creation (atomic).
    function test_deliverComputeDelegatee_isAtomic() public {
        Subscription memory sub = _sub();
        uint32 expiry = uint32(block.timestamp) + SIGNATURE_LIFETIME;
        (uint8 v, bytes32 r, bytes32 s) = _sign(DELEGATEE_KEY, 4, expiry, sub);
        vm.expectRevert(Coordinator.IntervalMismatch.selector);
        vm.prank(ALICE);
        COORDINATOR.deliverComputeDelegatee(
            4, expiry, sub, v, r, s, 2, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(NO_WALLET)
        );
        assertEq(COORDINATOR.id(), 1);
        assertEq(
            COORDINATOR.delegateCreatedIds(keccak256(abi.encode(address(CONSUMER), uint32(4)))), 0
        );
    }
}
