"""`talkroom mcp`: the agent's side of the protocol as MCP tools, over stdio."""
