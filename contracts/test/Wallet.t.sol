// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.22;

import {Ownable} from "solady/auth/Ownable.sol";
import {Wallet} from "infernet-sdk/payments/Wallet.sol";
import {WalletFactory} from "infernet-sdk/payments/WalletFactory.sol";
import {Coordinated} from "infernet-sdk/utility/Coordinated.sol";
import {ProtocolTest} from "./lib/ProtocolTest.sol";
import {MockToken} from "./mocks/payments/MockToken.sol";

/// @title WalletTest
/// @notice Wallet accounting driven directly (the Coordinator is pranked) and WalletFactory.
contract WalletTest is ProtocolTest {
    Wallet internal WALLET;
    MockToken internal TOKEN;

    function setUp() public override {
        super.setUp();
        WALLET = Wallet(payable(WALLET_FACTORY.createWallet(address(this))));
        TOKEN = MockToken(deployCode("MockToken.sol:MockToken"));
        vm.deal(address(WALLET), 1 ether);
        TOKEN.mint(address(WALLET), 100e6);
    }

    receive() external payable {}

    /// @notice The factory records its wallets, sets the owner and announces each creation.
    function test_createWallet_recordsAndEmits() public {
        address expected =
            vm.computeCreateAddress(address(WALLET_FACTORY), vm.getNonce(address(WALLET_FACTORY)));
        vm.expectEmit(address(WALLET_FACTORY));
        emit WalletFactory.WalletCreated(ALICE, BOB, expected);
        vm.prank(ALICE);
        address wallet = WALLET_FACTORY.createWallet(BOB);

        assertEq(wallet, expected);
        assertEq(Wallet(payable(wallet)).owner(), BOB);
        assertTrue(WALLET_FACTORY.isValidWallet(wallet));
        assertFalse(WALLET_FACTORY.isValidWallet(ALICE));
    }

    /// @notice approve sets (not adds) the allowance and emits the ERC-20-shaped Approval.
    function test_approve_setsAllowance() public {
        WALLET.approve(ALICE, ETH, 5);
        vm.expectEmit(address(WALLET));
        emit Wallet.Approval(ALICE, ETH, 3);
        WALLET.approve(ALICE, ETH, 3);
        assertEq(WALLET.allowance(ALICE, ETH), 3);
    }

    /// @notice Only the owner approves and withdraws.
    function test_ownerFunctions_revertUnauthorized() public {
        vm.startPrank(ALICE);
        vm.expectRevert(Ownable.Unauthorized.selector);
        WALLET.approve(ALICE, ETH, 1);
        vm.expectRevert(Ownable.Unauthorized.selector);
        WALLET.withdraw(ETH, 1);
        vm.stopPrank();
    }

    /// @notice Only the Coordinator moves, locks or unlocks funds.
    function test_coordinatorFunctions_revertNotCoordinator() public {
        vm.expectRevert(Coordinated.NotCoordinator.selector);
        WALLET.cTransfer(ALICE, ETH, ALICE, 1);
        vm.expectRevert(Coordinated.NotCoordinator.selector);
        WALLET.cLock(ALICE, ETH, 1);
        vm.expectRevert(Coordinated.NotCoordinator.selector);
        WALLET.cUnlock(ALICE, ETH, 1);
    }

    /// @notice Locked funds cannot be withdrawn; unlocking returns them to the spender's allowance.
    function test_lockAndUnlock_moveAllowanceAndBalance() public {
        WALLET.approve(ALICE, address(TOKEN), 60e6);
        vm.prank(address(COORDINATOR));
        vm.expectEmit(address(WALLET));
        emit Wallet.Escrow(ALICE, address(TOKEN), 60e6, true);
        WALLET.cLock(ALICE, address(TOKEN), 60e6);
        assertEq(WALLET.allowance(ALICE, address(TOKEN)), 0);

        vm.expectRevert(Wallet.InsufficientFunds.selector);
        WALLET.withdraw(address(TOKEN), 40e6 + 1);
        WALLET.withdraw(address(TOKEN), 40e6);

        vm.prank(address(COORDINATOR));
        vm.expectRevert(Wallet.InsufficientFunds.selector);
        WALLET.cUnlock(ALICE, address(TOKEN), 60e6 + 1);
        vm.prank(address(COORDINATOR));
        WALLET.cUnlock(ALICE, address(TOKEN), 60e6);
        assertEq(WALLET.allowance(ALICE, address(TOKEN)), 60e6);

        vm.expectEmit(address(WALLET));
        emit Wallet.Withdrawl(address(TOKEN), 60e6);
        WALLET.withdraw(address(TOKEN), 60e6);
        assertEq(TOKEN.balanceOf(address(this)), 100e6);
    }

    /// @notice cLock checks the unlocked balance before the allowance.
    function test_cLock_checksFundsThenAllowance() public {
        vm.startPrank(address(COORDINATOR));
        vm.expectRevert(Wallet.InsufficientFunds.selector);
        WALLET.cLock(ALICE, ETH, 2 ether);
        vm.expectRevert(Wallet.InsufficientAllowance.selector);
        WALLET.cLock(ALICE, ETH, 1 ether);
        vm.stopPrank();
    }

    /// @notice cTransfer spends the allowance and sends ETH.
    function test_cTransfer_spendsAllowance() public {
        WALLET.approve(ALICE, ETH, 0.5 ether);
        vm.startPrank(address(COORDINATOR));
        vm.expectEmit(address(WALLET));
        emit Wallet.Transfer(ALICE, ETH, BOB, 0.25 ether);
        WALLET.cTransfer(ALICE, ETH, BOB, 0.25 ether);
        vm.expectRevert(Wallet.InsufficientAllowance.selector);
        WALLET.cTransfer(ALICE, ETH, BOB, 0.5 ether);
        vm.stopPrank();
        assertEq(BOB.balance, 0.25 ether);
        assertEq(WALLET.allowance(ALICE, ETH), 0.25 ether);
    }
}
