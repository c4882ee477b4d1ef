// SPDX-License-Identifier: BSD-3-Clause-Clear
pragma solidity ^0.8.4;

import {ERC20} from "solady/tokens/ERC20.sol";

/// @title MockToken
/// @notice ERC-20 with 6 decimals and open minting, for payment tests.
contract MockToken is ERC20 {
    /// @notice Token decimals (USDC-like, as upstream's test token).
    uint8 private constant DECIMALS = 6;

    function name() public pure override returns (string memory) {
        return "Mock";
    }

    function symbol() public pure override returns (string memory) {
        return "MOCK";
    }

    function decimals() public pure override returns (uint8) {
        return DECIMALS;
    }

    /// @notice Mints `amount` to `to` (anyone may call).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
