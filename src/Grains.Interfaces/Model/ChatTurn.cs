namespace OrleansLlm;

/// <summary>One message of a conversation sent to Ollama's <c>/api/chat</c>.</summary>
/// <param name="Role"><c>system</c>, <c>user</c> or <c>assistant</c>.</param>
public sealed record ChatTurn(string Role, string Content);
