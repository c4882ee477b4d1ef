// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "solady/auth/Ownable.sol";
import {ECDSA} from "solady/utils/ECDSA.sol";
import {ReentrancyGuard} from "solady/utils/ReentrancyGuard.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {Coordinator} from "infernet-sdk/Coordinator.sol";
import {EIP712Coordinator} from "infernet-sdk/EIP712Coordinator.sol";
import {Inbox} from "infernet-sdk/Inbox.sol";
import {Registry} from "infernet-sdk/Registry.sol";
import {BaseConsumer} from "infernet-sdk/consumer/Base.sol";
import {Allowlist} from "infernet-sdk/pattern/Allowlist.sol";
import {Delegator} from "infernet-sdk/pattern/Delegator.sol";
import {Fee} from "infernet-sdk/payments/Fee.sol";
import {IVerifier} from "infernet-sdk/payments/IVerifier.sol";
import {Wallet} from "infernet-sdk/payments/Wallet.sol";
import {WalletFactory} from "infernet-sdk/payments/WalletFactory.sol";
import {Coordinated} from "infernet-sdk/utility/Coordinated.sol";
import {Reader} from "infernet-sdk/utility/Reader.sol";
import {LibSign} from "../testkit/LibSign.sol";

/// @title AbiPinsTest
/// @notice Pins every selector, event topic, error selector and EIP-712 type hash that
///         infernet-sdk v1.1.0 declares (ritual-net/infernet-sdk, tag v1.1.0, src/), so an ABI drift fails the build.
contract AbiPinsTest is Test {
    // Public state-variable getters only expose `.selector` through an instance; these stay
    // undeployed (a selector needs no code).
    Coordinator internal COORDINATOR_ABI;
    EIP712Coordinator internal EIP712_COORDINATOR_ABI;
    Registry internal REGISTRY_ABI;
    Inbox internal INBOX_ABI;
    Fee internal FEE_ABI;
    Wallet internal WALLET_ABI;

    function _pin(bytes4 actual, bytes4 expected) internal pure {
        assertEq(uint256(uint32(actual)), uint256(uint32(expected)));
    }

    /// @notice Coordinator functions and public getters (src/Coordinator.sol).
    function test_pins_coordinatorFunctions() public view {
        _pin(COORDINATOR_ABI.id.selector, 0xaf640d0f);
        _pin(COORDINATOR_ABI.nodeResponded.selector, 0x298f7bdc);
        _pin(COORDINATOR_ABI.redundancyCount.selector, 0xbc85694f);
        _pin(COORDINATOR_ABI.proofRequests.selector, 0xc34cf5c7);
        _pin(COORDINATOR_ABI.getSubscription.selector, 0xa17b920b);
        _pin(COORDINATOR_ABI.createSubscription.selector, 0x84050893);
        _pin(COORDINATOR_ABI.cancelSubscription.selector, 0x31e451a9);
        _pin(COORDINATOR_ABI.getSubscriptionInterval.selector, 0x836a6cc9);
        _pin(COORDINATOR_ABI.deliverCompute.selector, 0xc509543d);
        _pin(COORDINATOR_ABI.finalizeProofVerification.selector, 0x196ab123);
    }

    /// @notice Coordinator event topics (src/Coordinator.sol).
    function test_pins_coordinatorEvents() public pure {
        assertEq(
            Coordinator.SubscriptionCreated.selector,
            0x04344ed7a67fec80c444d56ee1cee242f3f75b91fecc8dbce8890069c82eb48e
        );
        assertEq(
            Coordinator.SubscriptionCancelled.selector,
            0xf4126e31c182db4c4109605c6d50470fc7e8ca90d62d44fd25cbe049fb9cac3e
        );
        assertEq(
            Coordinator.SubscriptionFulfilled.selector,
            0xc68fb0ae5cea2793405d29014d881bcda18f67122e0bcd7d0a577e118b64e4c8
        );
        assertEq(
            Coordinator.ProofVerified.selector,
            0xaf1556610075709bf885e17681512d329b1a40f799ee5196f79461e89b656454
        );
    }

    /// @notice Coordinator errors, including the ones that bubble up from Solady and Wallet (src/Coordinator.sol).
    function test_pins_coordinatorErrors() public pure {
        _pin(Coordinator.InvalidWallet.selector, 0x23455ba1);
        _pin(Coordinator.IntervalMismatch.selector, 0x4db310c3);
        _pin(Coordinator.IntervalCompleted.selector, 0x2f4ca85b);
        _pin(Coordinator.UnauthorizedVerifier.selector, 0xb9857aa1);
        _pin(Coordinator.NodeRespondedAlready.selector, 0x88a21e4f);
        _pin(Coordinator.SubscriptionNotFound.selector, 0x1a00354f);
        _pin(Coordinator.ProofRequestNotFound.selector, 0x1d68b37c);
        _pin(Coordinator.NotSubscriptionOwner.selector, 0xa7fba711);
        _pin(Coordinator.SubscriptionCompleted.selector, 0xae6704a7);
        _pin(Coordinator.SubscriptionNotActive.selector, 0xefb74efe);
        _pin(Coordinator.UnsupportedVerifierToken.selector, 0xe2372799);
        _pin(ReentrancyGuard.Reentrancy.selector, 0xab143c06);
        _pin(Wallet.InsufficientFunds.selector, 0x356680b7);
        _pin(Wallet.InsufficientAllowance.selector, 0x13be252b);
        _pin(Coordinated.NotCoordinator.selector, 0x9ec853e6);
        _pin(SafeTransferLib.TransferFailed.selector, 0x90b8ec18);
    }

    /// @notice EIP712Coordinator surface and the EIP-712 type hashes (src/EIP712Coordinator.sol).
    function test_pins_eip712Coordinator() public view {
        _pin(EIP712_COORDINATOR_ABI.EIP712_NAME.selector, 0x3b2fb7a8);
        _pin(EIP712_COORDINATOR_ABI.EIP712_VERSION.selector, 0xeccec5a8);
        _pin(EIP712_COORDINATOR_ABI.eip712Domain.selector, 0x84b0196e);
        _pin(EIP712_COORDINATOR_ABI.maxSubscriberNonce.selector, 0x7fb61b27);
        _pin(EIP712_COORDINATOR_ABI.delegateCreatedIds.selector, 0x60ed0f61);
        _pin(EIP712_COORDINATOR_ABI.createSubscriptionDelegatee.selector, 0x9c092514);
        _pin(EIP712_COORDINATOR_ABI.deliverComputeDelegatee.selector, 0x9fff314a);
        _pin(EIP712Coordinator.SignerMismatch.selector, 0x10c74b03);
        _pin(EIP712Coordinator.SignatureExpired.selector, 0x0819bdcd);
        _pin(ECDSA.InvalidSignature.selector, 0x8baa579f);
        assertEq(
            LibSign.DOMAIN_TYPEHASH,
            0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f
        );
        assertEq(
            LibSign.SUBSCRIPTION_TYPEHASH,
            0x3da81ed66ee47395e568c52867826ec137777eef9c1bdfb6bf972dd4385bc5a9
        );
        assertEq(
            LibSign.DELEGATE_SUBSCRIPTION_TYPEHASH,
            0xba9ff1aef2b048b42767aade2b901745a3acf14f698a9ec13952098cfd03d0b6
        );
    }

    /// @notice Consumer-side surface: BaseConsumer, Delegator, Allowlist (src/consumer/, src/pattern/).
    function test_pins_consumerSurface() public pure {
        _pin(BaseConsumer.rawReceiveCompute.selector, 0x7a411a8d);
        _pin(BaseConsumer.getContainerInputs.selector, 0x962fad75);
        _pin(BaseConsumer.NotCoordinator.selector, 0x9ec853e6);
        _pin(Delegator.getSigner.selector, 0x7ac3c02f);
        _pin(Allowlist.isAllowedNode.selector, 0xa136e529);
        _pin(Allowlist.NodeNotAllowed.selector, 0x42764946);
    }

    /// @notice Registry, Reader and Inbox (src/Registry.sol, src/utility/Reader.sol, src/Inbox.sol).
    function test_pins_registryReaderInbox() public view {
        _pin(REGISTRY_ABI.COORDINATOR.selector, 0x3b2bcbf1);
        _pin(REGISTRY_ABI.INBOX.selector, 0xb7010697);
        _pin(REGISTRY_ABI.READER.selector, 0x698eec44);
        _pin(REGISTRY_ABI.FEE.selector, 0xc57981b5);
        _pin(REGISTRY_ABI.WALLET_FACTORY.selector, 0x0e2009f4);
        _pin(Reader.readSubscriptionBatch.selector, 0x3ddc29f5);
        _pin(Reader.readRedundancyCountBatch.selector, 0x757f1c84);
        _pin(INBOX_ABI.items.selector, 0x93eaef1f);
        _pin(INBOX_ABI.write.selector, 0x198896dd);
        _pin(INBOX_ABI.writeViaCoordinator.selector, 0x76a87949);
        _pin(INBOX_ABI.read.selector, 0x586a6094);
        // Spec gives 0xac56b74e...94d1
        assertEq(uint256(Inbox.NewInboxItem.selector) >> 224, 0xac56b74e);
        assertEq(uint16(uint256(Inbox.NewInboxItem.selector)), 0x94d1);
    }

    /// @notice Fee, WalletFactory, Wallet and IVerifier (src/payments/).
    function test_pins_payments() public view {
        _pin(FEE_ABI.FEE.selector, 0xc57981b5);
        _pin(FEE_ABI.updateFee.selector, 0x2c6cda93);
        _pin(FEE_ABI.FEE_RECIPIENT.selector, 0xebd09054);
        _pin(FEE_ABI.owner.selector, 0x8da5cb5b);
        _pin(Ownable.Unauthorized.selector, 0x82b42900);
        _pin(WalletFactory.createWallet.selector, 0xb054a9e8);
        _pin(WalletFactory.isValidWallet.selector, 0x439a3012);
        _pin(WALLET_ABI.allowance.selector, 0xdd62ed3e);
        _pin(WALLET_ABI.withdraw.selector, 0xf3fef3a3);
        _pin(WALLET_ABI.approve.selector, 0xe1f21c67);
        _pin(WALLET_ABI.cTransfer.selector, 0x0d67cfd9);
        _pin(WALLET_ABI.cLock.selector, 0xd0729347);
        _pin(WALLET_ABI.cUnlock.selector, 0xc7048369);
        _pin(IVerifier.getWallet.selector, 0x13299604);
        _pin(IVerifier.isSupportedToken.selector, 0x240028e8);
        _pin(IVerifier.fee.selector, 0x6fcca69b);
        _pin(IVerifier.requestProofVerification.selector, 0x81e79a90);

        // Wallet.Approval shares ERC-20 Approval's topic; Withdrawl keeps upstream's spelling
        assertEq(
            Wallet.Approval.selector,
            0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925
        );
        assertEq(Wallet.Withdrawl.selector, keccak256("Withdrawl(address,uint256)"));
        // Spec gives Transfer 0xd1398bee...698f and Escrow 0x81358249...5d26
        assertEq(uint256(Wallet.Transfer.selector) >> 224, 0xd1398bee);
        assertEq(uint16(uint256(Wallet.Transfer.selector)), 0x698f);
        assertEq(uint256(Wallet.Escrow.selector) >> 224, 0x81358249);
        assertEq(uint16(uint256(Wallet.Escrow.selector)), 0x5d26);
        assertEq(
            WalletFactory.WalletCreated.selector,
            keccak256("WalletCreated(address,address,address)")
        );
    }
}
