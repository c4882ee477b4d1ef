// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Coordinator, ProofRequest} from "infernet-sdk/Coordinator.sol";
import {Wallet} from "infernet-sdk/payments/Wallet.sol";
import {ProtocolTest} from "./lib/ProtocolTest.sol";
import {MockSubscriptionConsumer} from "./mocks/consumer/MockSubscriptionConsumer.sol";
import {MockToken} from "./mocks/payments/MockToken.sol";
import {MockAtomicVerifier, MockOptimisticVerifier} from "./mocks/payments/MockVerifier.sol";

/// @title CoordinatorPaymentTest
/// @notice Paid subscriptions with the spec's fee of 511 bps (5.11%): a consumer wallet owned by the
///         test, a node wallet owned by ALICE, and both mock verifiers.
abstract contract CoordinatorPaymentTest is ProtocolTest {
    /// @notice The SDK tests' protocol fee (5.11%).
    uint16 internal constant PROTOCOL_FEE = 511;

    /// @notice Redundancy of the subscriptions two nodes answer.
    uint16 internal constant TWO_NODES = 2;

    /// @notice Proof bytes the atomic verifier accepts / rejects.
    bytes internal constant VALID_PROOF = "valid";
    bytes internal constant INVALID_PROOF = "invalid";

    MockSubscriptionConsumer internal CONSUMER;
    MockToken internal TOKEN;
    MockAtomicVerifier internal ATOMIC_VERIFIER;
    MockOptimisticVerifier internal OPTIMISTIC_VERIFIER;
    Wallet internal CONSUMER_WALLET;
    Wallet internal NODE_WALLET;

    function _protocolFee() internal pure override returns (uint16) {
        return PROTOCOL_FEE;
    }

    function setUp() public virtual override {
        super.setUp();
        CONSUMER = _deployMockSubscriptionConsumer(NO_SIGNER);
        TOKEN = MockToken(deployCode("MockToken.sol:MockToken"));
        ATOMIC_VERIFIER = MockAtomicVerifier(
            payable(deployCode("MockVerifier.sol:MockAtomicVerifier", abi.encode(COORDINATOR)))
        );
        OPTIMISTIC_VERIFIER = MockOptimisticVerifier(
            payable(deployCode("MockVerifier.sol:MockOptimisticVerifier", abi.encode(COORDINATOR)))
        );
        CONSUMER_WALLET = Wallet(payable(WALLET_FACTORY.createWallet(address(this))));
        NODE_WALLET = Wallet(payable(WALLET_FACTORY.createWallet(ALICE)));
    }

    /// @notice Funds the consumer wallet and lets the consumer contract spend `amount`.
    function _fundConsumer(address token, uint256 amount) internal {
        _fund(address(CONSUMER_WALLET), token, amount);
        CONSUMER_WALLET.approve(address(CONSUMER), token, amount);
    }

    /// @notice Funds the node wallet and lets ALICE stake `amount` from it.
    function _fundNode(address token, uint256 amount) internal {
        _fund(address(NODE_WALLET), token, amount);
        vm.prank(ALICE);
        NODE_WALLET.approve(ALICE, token, amount);
    }

    function _fund(address wallet, address token, uint256 amount) internal {
        if (token == ETH) {
            vm.deal(wallet, amount);
        } else {
            TOKEN.mint(wallet, amount);
        }
    }

    function _balance(address account, address token) internal view returns (uint256) {
        return token == ETH ? account.balance : TOKEN.balanceOf(account);
    }

    /// @notice One-time paid subscription owned by the consumer mock.
    function _paidRequest(address token, uint256 amount, address wallet, address verifier)
        internal
        returns (uint32)
    {
        return CONSUMER.createMockSubscription(
            MOCK_CONTAINER_ID,
            ONE_TIME,
            ONE_SHOT_PERIOD,
            ONE_NODE,
            EAGER,
            token,
            amount,
            wallet,
            verifier
        );
    }

    /// @notice Delivers `proof` as ALICE with her wallet.
    function _deliverProof(uint32 id, bytes memory proof) internal {
        vm.prank(ALICE);
        COORDINATOR.deliverCompute(
            id, 1, MOCK_INPUT, MOCK_OUTPUT, proof, payable(address(NODE_WALLET))
        );
    }
}

/// @title CoordinatorPaymentNoProofTest
/// @notice Paid deliveries without a verifier.
contract CoordinatorPaymentNoProofTest is CoordinatorPaymentTest {
    /// @notice 1 ETH at 5.11%: the protocol takes 2 x fee = 0.1022 ETH and the node gets 0.8978 ETH.
    function test_deliverCompute_paysNodeAndProtocol() public {
        _fundConsumer(ETH, 1 ether);
        uint32 id = _paidRequest(ETH, 1 ether, address(CONSUMER_WALLET), NO_VERIFIER);
        _deliverProof(id, MOCK_PROOF);

        assertEq(PROTOCOL.balance, 0.1022 ether);
        assertEq(address(NODE_WALLET).balance, 0.8978 ether);
        assertEq(address(CONSUMER_WALLET).balance, 0);
        assertEq(CONSUMER_WALLET.allowance(address(CONSUMER), ETH), 0);
    }

    /// @notice The same split in an ERC-20.
    function test_deliverCompute_paysInToken() public {
        _fundConsumer(address(TOKEN), 40e6);
        uint32 id = _paidRequest(address(TOKEN), 40e6, address(CONSUMER_WALLET), NO_VERIFIER);
        _deliverProof(id, MOCK_PROOF);

        assertEq(TOKEN.balanceOf(PROTOCOL), 4_088_000);
        assertEq(TOKEN.balanceOf(address(NODE_WALLET)), 35_912_000);
    }

    /// @notice Redundancy 2: each of two nodes is paid into its own wallet (same split as one
    ///         delivery), the consumer pays once per delivery, and a third node's delivery reverts
    ///         IntervalCompleted without moving any payment. In ETH and in the ERC-20 mock.
    function test_deliverCompute_redundancyPaysEachNode() public {
        _assertRedundancyPaysEachNode(ETH, 1 ether, 0.1022 ether, 0.8978 ether);
        _assertRedundancyPaysEachNode(address(TOKEN), 40e6, 4_088_000, 35_912_000);
    }

    /// @notice One redundancy-2 round in `token`: `price` per delivery, split as given.
    function _assertRedundancyPaysEachNode(
        address token,
        uint256 price,
        uint256 protocolCut,
        uint256 nodeShare
    ) internal {
        Wallet bobWallet = Wallet(payable(WALLET_FACTORY.createWallet(BOB)));
        _fundConsumer(token, 2 * price);
        uint32 id = CONSUMER.createMockSubscription(
            MOCK_CONTAINER_ID,
            ONE_TIME,
            ONE_SHOT_PERIOD,
            TWO_NODES,
            EAGER,
            token,
            price,
            address(CONSUMER_WALLET),
            NO_VERIFIER
        );
        uint256 aliceBefore = _balance(address(NODE_WALLET), token);
        uint256 protocolBefore = _balance(PROTOCOL, token);

        _deliverProof(id, MOCK_PROOF);
        vm.prank(BOB);
        COORDINATOR.deliverCompute(
            id, 1, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(address(bobWallet))
        );

        assertEq(_balance(address(NODE_WALLET), token), aliceBefore + nodeShare);
        assertEq(_balance(address(bobWallet), token), nodeShare);
        assertEq(_balance(PROTOCOL, token), protocolBefore + 2 * protocolCut);
        assertEq(_balance(address(CONSUMER_WALLET), token), 0);

        Wallet charlieWallet = Wallet(payable(WALLET_FACTORY.createWallet(CHARLIE)));
        _fund(address(CONSUMER_WALLET), token, price);
        CONSUMER_WALLET.approve(address(CONSUMER), token, price);
        vm.expectRevert(Coordinator.IntervalCompleted.selector);
        vm.prank(CHARLIE);
        COORDINATOR.deliverCompute(
            id, 1, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(address(charlieWallet))
        );
        assertEq(_balance(address(CONSUMER_WALLET), token), price);
    }

    /// @notice A node wallet the factory did not create is rejected.
    function test_deliverCompute_revertsInvalidNodeWallet() public {
        _fundConsumer(ETH, 1 ether);
        uint32 id = _paidRequest(ETH, 1 ether, address(CONSUMER_WALLET), NO_VERIFIER);
        vm.expectRevert(Coordinator.InvalidWallet.selector);
        vm.prank(ALICE);
        COORDINATOR.deliverCompute(id, 1, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(BOB));
    }

    /// @notice A consumer wallet the factory did not create is rejected.
    function test_deliverCompute_revertsInvalidConsumerWallet() public {
        uint32 id = _paidRequest(ETH, 1 ether, BOB, NO_VERIFIER);
        vm.expectRevert(Coordinator.InvalidWallet.selector);
        _deliverProof(id, MOCK_PROOF);
    }

    /// @notice Unpaid subscriptions ignore the node wallet argument.
    function test_deliverCompute_unpaidIgnoresNodeWallet() public {
        uint32 id = _paidRequest(ETH, NO_PAYMENT, NO_WALLET, NO_VERIFIER);
        vm.prank(ALICE);
        COORDINATOR.deliverCompute(id, 1, MOCK_INPUT, MOCK_OUTPUT, MOCK_PROOF, payable(BOB));
        assertEq(CONSUMER.getDelivery(id, 1, 1).node, ALICE);
    }

    /// @notice A consumer allowance below the payment reverts InsufficientAllowance.
    function test_deliverCompute_revertsInsufficientAllowance() public {
        _fund(address(CONSUMER_WALLET), ETH, 1 ether);
        CONSUMER_WALLET.approve(address(CONSUMER), ETH, 0.5 ether);
        uint32 id = _paidRequest(ETH, 1 ether, address(CONSUMER_WALLET), NO_VERIFIER);
        vm.expectRevert(Wallet.InsufficientAllowance.selector);
        _deliverProof(id, MOCK_PROOF);
    }

    /// @notice A fee update applies to the next delivery.
    function test_deliverCompute_readsFeeOnEveryDelivery() public {
        vm.prank(PROTOCOL);
        FEE.updateFee(0);
        _fundConsumer(ETH, 1 ether);
        uint32 id = _paidRequest(ETH, 1 ether, address(CONSUMER_WALLET), NO_VERIFIER);
        _deliverProof(id, MOCK_PROOF);
        assertEq(PROTOCOL.balance, 0);
        assertEq(address(NODE_WALLET).balance, 1 ether);
    }
}

/// @title CoordinatorPaymentProofTest
/// @notice Paid deliveries with proofs: escrow, verification, slashing, expiry.
contract CoordinatorPaymentProofTest is CoordinatorPaymentTest {
    /// @notice A 1 ETH request under the optimistic verifier (charging `verifierFee`), both wallets
    ///         funded with 1 ETH, answered by ALICE with MOCK_PROOF: the proof request is open.
    function _deliverOptimistic(uint256 verifierFee) internal returns (uint32 id) {
        OPTIMISTIC_VERIFIER.setFee(ETH, verifierFee);
        _fundConsumer(ETH, 1 ether);
        _fundNode(ETH, 1 ether);
        id = _paidRequest(ETH, 1 ether, address(CONSUMER_WALLET), address(OPTIMISTIC_VERIFIER));
        _deliverProof(id, MOCK_PROOF);
    }

    /// @notice 40e6 tokens, verifier fee 5e6, valid proof: protocol 4,343,500, verifier 4,744,500,
    ///         node 30,912,000 (docs/contracts.md, fees); the node's stake is released.
    function test_atomicVerifier_validProofPaysNode() public {
        ATOMIC_VERIFIER.setFee(address(TOKEN), 5e6);
        _fundConsumer(address(TOKEN), 40e6);
        _fundNode(address(TOKEN), 40e6);
        uint32 id =
            _paidRequest(address(TOKEN), 40e6, address(CONSUMER_WALLET), address(ATOMIC_VERIFIER));

        vm.expectEmit(address(COORDINATOR));
        emit Coordinator.ProofVerified(id, 1, ALICE, true, address(ATOMIC_VERIFIER), true);
        _deliverProof(id, VALID_PROOF);

        assertEq(TOKEN.balanceOf(PROTOCOL), 4_343_500);
        assertEq(TOKEN.balanceOf(address(ATOMIC_VERIFIER)), 4_744_500);
        assertEq(TOKEN.balanceOf(address(NODE_WALLET)), 40e6 + 30_912_000);
        assertEq(TOKEN.balanceOf(address(CONSUMER_WALLET)), 0);
        assertEq(NODE_WALLET.allowance(ALICE, address(TOKEN)), 40e6);
        (uint32 expiry,,) = COORDINATOR.proofRequests(keccak256(abi.encode(id, uint32(1), ALICE)));
        assertEq(expiry, 0);
    }

    /// @notice 1 ETH, verifier fee 0.111 ETH, invalid proof: the node's 1 ETH stake goes to the
    ///         consumer wallet, which ends at 1.7868 ETH (docs/contracts.md, fees).
    function test_atomicVerifier_invalidProofSlashesNode() public {
        ATOMIC_VERIFIER.setFee(ETH, 0.111 ether);
        _fundConsumer(ETH, 1 ether);
        _fundNode(ETH, 1 ether);
        uint32 id = _paidRequest(ETH, 1 ether, address(CONSUMER_WALLET), address(ATOMIC_VERIFIER));
        _deliverProof(id, INVALID_PROOF);

        assertEq(address(CONSUMER_WALLET).balance, 1.7868 ether);
        assertEq(address(NODE_WALLET).balance, 0);
    }

    /// @notice Before settlement both sides are escrowed and only the verifier may settle.
    function test_optimisticVerifier_escrowsUntilSettled() public {
        uint32 id = _deliverOptimistic(0.1 ether);
        assertEq(OPTIMISTIC_VERIFIER.requests(), 1);

        uint256 escrowed = 1 ether - 0.1022 ether - 0.1 ether;
        (uint32 expiry, Wallet nodeWallet, uint256 consumerEscrowed) =
            COORDINATOR.proofRequests(keccak256(abi.encode(id, uint32(1), ALICE)));
        assertEq(expiry, uint32(block.timestamp) + 1 weeks);
        assertEq(address(nodeWallet), address(NODE_WALLET));
        assertEq(consumerEscrowed, escrowed);

        // Locked funds cannot be withdrawn by either owner
        vm.expectRevert(Wallet.InsufficientFunds.selector);
        CONSUMER_WALLET.withdraw(ETH, escrowed);
        vm.expectRevert(Wallet.InsufficientFunds.selector);
        vm.prank(ALICE);
        NODE_WALLET.withdraw(ETH, 1 ether);

        vm.expectRevert(Coordinator.UnauthorizedVerifier.selector);
        vm.prank(BOB);
        COORDINATOR.finalizeProofVerification(id, 1, ALICE, true);

        OPTIMISTIC_VERIFIER.mockDeliverProof(id, 1, ALICE, true);
        assertEq(address(NODE_WALLET).balance, 1 ether + escrowed);
        vm.prank(ALICE);
        NODE_WALLET.withdraw(ETH, 1 ether + escrowed);
    }

    /// @notice From expiry on, anyone may settle and the node is paid whatever `valid` says.
    function test_finalizeProofVerification_paysNodeAfterExpiry() public {
        uint32 id = _deliverOptimistic(0);

        vm.warp(block.timestamp + 1 weeks);
        vm.expectEmit(address(COORDINATOR));
        emit Coordinator.ProofVerified(id, 1, ALICE, false, CHARLIE, false);
        vm.prank(CHARLIE);
        COORDINATOR.finalizeProofVerification(id, 1, ALICE, false);
        assertEq(address(NODE_WALLET).balance, 1 ether + 0.8978 ether);

        vm.expectRevert(Coordinator.ProofRequestNotFound.selector);
        OPTIMISTIC_VERIFIER.mockDeliverProof(id, 1, ALICE, false);
    }

    /// @notice Settlement still works after the consumer cancels the subscription.
    function test_finalizeProofVerification_worksAfterCancel() public {
        uint32 id = _deliverOptimistic(0);
        CONSUMER.cancelMockSubscription(id);

        OPTIMISTIC_VERIFIER.mockDeliverProof(id, 1, ALICE, false);
        assertEq(address(CONSUMER_WALLET).balance, 0.8978 ether + 1 ether);
    }

    /// @notice A verifier that does not take the payment token is rejected.
    function test_deliverCompute_revertsUnsupportedVerifierToken() public {
        _fundConsumer(address(TOKEN), 40e6);
        _fundNode(address(TOKEN), 40e6);
        uint32 id =
            _paidRequest(address(TOKEN), 40e6, address(CONSUMER_WALLET), address(ATOMIC_VERIFIER));
        vm.expectRevert(Coordinator.UnsupportedVerifierToken.selector);
        _deliverProof(id, VALID_PROOF);
    }

    /// @notice A node that has not approved its own stake cannot deliver proof-carrying work.
    function test_deliverCompute_revertsWithoutNodeStake() public {
        ATOMIC_VERIFIER.setFee(ETH, 0);
        _fundConsumer(ETH, 1 ether);
        _fund(address(NODE_WALLET), ETH, 1 ether);
        uint32 id = _paidRequest(ETH, 1 ether, address(CONSUMER_WALLET), address(ATOMIC_VERIFIER));
        vm.expectRevert(Wallet.InsufficientAllowance.selector);
        _deliverProof(id, VALID_PROOF);
    }

    /// @notice Settling an unknown request reverts.
    function test_finalizeProofVerification_revertsProofRequestNotFound() public {
        vm.expectRevert(Coordinator.ProofRequestNotFound.selector);
        COORDINATOR.finalizeProofVerification(1, 1, ALICE, true);
    }
}
