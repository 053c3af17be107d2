namespace OrleansLlm.Worker;

/// <summary>
/// A batch's spec as the worker asks with it: the silo's defaults filled in (prompt, answer field, model), its template
/// and format parsed once per batch. Everything else is read from <see cref="Spec"/> itself, so a field added to
/// <see cref="BatchSpec"/> needs nothing here.
/// </summary>
/// <param name="Problem">Why no item of the batch can be asked (its stored format is unusable); null when all is well.</param>
internal sealed record PreparedSpec(BatchSpec Spec, PromptTemplate Template, AnswerFormat? Format, string? Problem)
{
    /// <param name="defaults">The silo's own spec (<c>Prompt:*</c>, <c>Ollama:Model</c>); null when <paramref name="spec"/> is it.</param>
    public static PreparedSpec Of(BatchSpec spec, BatchSpec? defaults)
    {
        var filled = defaults is null ? spec : spec with
        {
            PromptTemplate = spec.PromptTemplate ?? defaults.PromptTemplate,
            AnswerField = spec.AnswerField ?? defaults.AnswerField,
            Model = spec.Model ?? defaults.Model,
        };
        AnswerFormat? format = null;
        var problem = filled.Format is { } f && AnswerFormat.TryParse(f, out format) is { } error
            ? $"the batch's format is unusable: {error}"
            : null;
        return new PreparedSpec(filled, PromptTemplate.Parse(filled.PromptTemplate!), format, problem);
    }
}
