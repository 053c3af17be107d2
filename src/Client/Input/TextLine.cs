namespace OrleansLlm.Client.Input;

/// <summary>One line of a file, as <see cref="Utf8LineReader"/> reads it.</summary>
/// <param name="Number">The line's number, from 1.</param>
/// <param name="Text">
/// The line without its line break. When <paramref name="Error"/> says its bytes are not valid UTF-8, the bad bytes
/// are U+FFFD here: fit to tell what kind of file it is, never to be submitted.
/// </param>
/// <param name="Break">The line break that ended it: <c>"\n"</c>, <c>"\r\n"</c>, <c>"\r"</c>, or empty at the end of the file.</param>
/// <param name="Error">Why the line can't be taken as it is (not valid UTF-8, or too long), or null when it can.</param>
public sealed record TextLine(int Number, string Text, string Break, string? Error = null);
