; Inno Setup 6 script for AlbumSorter (Windows installer). packaging/build.py runs it when ISCC.exe is found:
;   ISCC /DAppVersion=0.1.0 /DSourceDir=dist\AlbumSorter /DOutputDir=dist /DOutputBaseFilename=... /DRepoRoot=. albumsorter.iss
; Per-user install by default (no admin rights needed); the user may choose all users.
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\AlbumSorter"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef OutputBaseFilename
  #define OutputBaseFilename "AlbumSorter-" + AppVersion + "-windows-x64-setup"
#endif
#ifndef RepoRoot
  #define RepoRoot "..\.."
#endif

[Setup]
AppId={{5B7C2E0A-3F4D-4C8E-9A51-6E2D8B1F0C47}
AppName=AlbumSorter
AppVersion={#AppVersion}
AppVerName=AlbumSorter {#AppVersion}
AppPublisher=AlbumSorter contributors
DefaultDirName={autopf}\AlbumSorter
DefaultGroupName=AlbumSorter
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename={#OutputBaseFilename}
SetupIconFile={#RepoRoot}\resources\icons\albumsorter.ico
UninstallDisplayIcon={app}\AlbumSorter.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\AlbumSorter"; Filename: "{app}\AlbumSorter.exe"
Name: "{autodesktop}\AlbumSorter"; Filename: "{app}\AlbumSorter.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\AlbumSorter.exe"; Description: "{cm:LaunchProgram,AlbumSorter}"; Flags: nowait postinstall skipifsilent
