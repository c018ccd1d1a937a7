// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @notice An ERC-721 with open minting: `safeTransferFrom` and `setApprovalForAll` are what an
/// interaction could reach on a collection the executor allow-lists. Test-only.
contract TestCollectible is ERC721 {
    constructor() ERC721("Collectible", "NFT") {}

    /// @notice Mints token `id` to `to`. Test-only: anyone may mint.
    function mint(address to, uint256 id) external {
        _mint(to, id);
    }
}
