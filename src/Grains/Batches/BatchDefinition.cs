namespace OrleansLlm.Batches;

/// <summary>A batch as the batch store keeps it. Its spec never changes once created.</summary>
/// <param name="PromptTemplate">The batch's prompt template; null for the silo's <c>Prompt:Template</c>.</param>
/// <param name="AnswerField">The batch's answer field; null for the silo's <c>Prompt:AnswerField</c>.</param>
public sealed record BatchDefinition(string? PromptTemplate, string? AnswerField);
