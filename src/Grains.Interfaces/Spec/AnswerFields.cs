using System.Text.RegularExpressions;

namespace OrleansLlm;

/// <summary>Which names can hold the answer in a <see cref="ResultDocument"/>.</summary>
public static partial class AnswerFields
{
    /// <returns>Null when <paramref name="field"/> can hold the answer, else a one-line reason.</returns>
    public static string? Check(string? field) =>
        field is null || !FieldName().IsMatch(field)
            ? $"'{field}' can't be an answer field: use letters, digits and '_', starting with a letter or '_' (at most 64)."
            : ResultDocument.IsReserved(field)
                ? $"'{field}' can't be an answer field: {string.Join(", ", ResultDocument.ReservedFields.Order(StringComparer.Ordinal))} are reserved in result documents."
                : null;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex FieldName();
}
