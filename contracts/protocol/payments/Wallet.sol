// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {Ownable} from "solady/auth/Ownable.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {Registry} from "../Registry.sol";
import {Coordinated} from "../utility/Coordinated.sol";

/// @title Wallet
/// @notice Payment wallet for consumers and nodes: holds ETH (token address(0)) and ERC-20s, lets
///         its owner approve spenders per token, and lets the Coordinator move or escrow funds on a
///         spender's behalf within that allowance.
/// @dev Known caveat (as upstream): a consumer can withdraw before a delivery lands, and the node
///      then works unpaid; nodes simulate deliveries to avoid this.
contract Wallet is Ownable, Coordinated {
    /*//////////////////////////////////////////////////////////////
                                MUTABLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Escrowed (locked) balance per token.
    mapping(address => uint256) private lockedBalance;

    /// @notice Allowance per spender per token.
    /// @dev 4-byte signature of the getter `allowance(address,address)`: `0xdd62ed3e`
    mapping(address => mapping(address => uint256)) public allowance;

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Emitted when the owner withdraws.
    /// @dev The misspelling is part of upstream's event topic and is kept for indexers.
    event Withdrawl(address token, uint256 amount);

    /// @notice Emitted when the owner sets an allowance.
    /// @dev topic0 equals ERC-20 `Approval`'s although only `spender` is indexed (upstream shape).
    event Approval(address indexed spender, address token, uint256 amount);

    /// @notice Emitted when funds are locked (`locked` true) or unlocked (`locked` false).
    event Escrow(address indexed spender, address token, uint256 amount, bool locked);

    /// @notice Emitted when the Coordinator transfers funds on a spender's behalf.
    event Transfer(address indexed spender, address token, address indexed to, uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice Thrown by `withdraw()`, `cLock()` and `cUnlock()` when the unlocked (or locked)
    ///         balance is too small. E.g. withdrawing 2 ETH with 1 ETH unlocked.
    /// @dev 4-byte signature: `0x356680b7`
    error InsufficientFunds();

    /// @notice Thrown by `cTransfer()` and `cLock()` when the spender's allowance is too small.
    /// @dev 4-byte signature: `0x13be252b`
    error InsufficientAllowance();

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates a wallet owned by `initialOwner`.
    /// @param registry Registry contract (for the Coordinator address)
    /// @param initialOwner Wallet owner
    constructor(Registry registry, address initialOwner) Coordinated(registry) {
        _initializeOwner(initialOwner);
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Balance of `token` held by this wallet (address(0) = ETH).
    function _balanceOf(address token) internal view returns (uint256) {
        if (token == address(0)) {
            return address(this).balance;
        }
        return SafeTransferLib.balanceOf(token, address(this));
    }

    /// @notice Unlocked balance of `token`.
    function _unlockedBalanceOf(address token) internal view returns (uint256) {
        return _balanceOf(token) - lockedBalance[token];
    }

    /// @notice Sends `amount` of `token` to `to`.
    /// @dev ETH is force-sent so a recipient that rejects ETH cannot block settlement; ERC-20s go
    ///      through Solady's safeTransfer, which tolerates tokens that return no bool.
    function _transferToken(address token, address to, uint256 amount) internal {
        if (token == address(0)) {
            SafeTransferLib.forceSafeTransferETH(to, amount);
        } else {
            SafeTransferLib.safeTransfer(token, to, amount);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Accepts ETH.
    receive() external payable {}

    /// @notice Withdraws unlocked funds to the owner.
    /// @dev 4-byte signature: `0xf3fef3a3`
    /// @param token Token address (address(0) = ETH)
    /// @param amount Amount to withdraw
    function withdraw(address token, uint256 amount) external onlyOwner {
        // Revert if more than the unlocked balance is requested
        if (amount > _unlockedBalanceOf(token)) {
            revert InsufficientFunds();
        }
        emit Withdrawl(token, amount);
        _transferToken(token, owner(), amount);
    }

    /// @notice Sets (does not add to) `spender`'s allowance of `token`.
    /// @dev 4-byte signature: `0xe1f21c67`
    /// @param spender Spender (a subscription owner, or a node EOA for node wallets)
    /// @param token Token address (address(0) = ETH)
    /// @param amount New allowance
    function approve(address spender, address token, uint256 amount) external onlyOwner {
        allowance[spender][token] = amount;
        emit Approval(spender, token, amount);
    }

    /// @notice Transfers `amount` of `token` to `to` out of `spender`'s allowance.
    /// @dev Coordinator only. 4-byte signature: `0x0d67cfd9`
    function cTransfer(address spender, address token, address to, uint256 amount)
        external
        onlyCoordinator
    {
        // Revert if the spender's allowance is too small
        if (allowance[spender][token] < amount) {
            revert InsufficientAllowance();
        }
        allowance[spender][token] -= amount;
        emit Transfer(spender, token, to, amount);
        _transferToken(token, to, amount);
    }

    /// @notice Moves `amount` of `token` from `spender`'s allowance into escrow.
    /// @dev Coordinator only. 4-byte signature: `0xd0729347`
    function cLock(address spender, address token, uint256 amount) external onlyCoordinator {
        // Revert if the unlocked balance is too small
        if (amount > _unlockedBalanceOf(token)) {
            revert InsufficientFunds();
        }
        // Revert if the spender's allowance is too small
        if (allowance[spender][token] < amount) {
            revert InsufficientAllowance();
        }
        allowance[spender][token] -= amount;
        lockedBalance[token] += amount;
        emit Escrow(spender, token, amount, true);
    }

    /// @notice Releases `amount` of `token` from escrow back into `spender`'s allowance.
    /// @dev Coordinator only. 4-byte signature: `0xc7048369`
    function cUnlock(address spender, address token, uint256 amount) external onlyCoordinator {
        // Revert if less than `amount` is locked
        if (amount > lockedBalance[token]) {
            revert InsufficientFunds();
        }
        lockedBalance[token] -= amount;
        allowance[spender][token] += amount;
        emit Escrow(spender, token, amount, false);
    }
}
